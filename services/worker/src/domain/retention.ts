import type { Logger } from '@hes/core';
import type { ChecksRepository } from '../adapters/checks-repository.js';
import type { WorkerMetrics } from '../adapters/metrics.js';

export interface RetentionOptions {
  repo: ChecksRepository;
  metrics: WorkerMetrics;
  logger: Logger;
  retentionDays: number;
  /** Rows per DELETE: short statements keep locks and WAL bursts small on a busy table. */
  batchSize?: number;
}

export interface PurgeReport {
  cutoff: Date;
  checks: number;
  batches: number;
  idempotencyRecords: number;
}

const DAY_MS = 86_400_000;

/**
 * SPEC §6: results older than RETENTION_DAYS are purged. Only final checks have `completed_at`, so a
 * pending check is never purged however old it is. Then batches completed before the cutoff that have
 * no check left, then idempotency records older than the cutoff.
 */
export async function purgeRetention(o: RetentionOptions, now?: Date): Promise<PurgeReport> {
  // The cutoff comes from PostgreSQL's clock, which stamped completed_at: a worker whose clock runs
  // days ahead must not purge results early (tests pass `now` to move time).
  const cutoff = new Date((now ?? (await o.repo.databaseNow())).getTime() - o.retentionDays * DAY_MS);
  const batchSize = o.batchSize ?? 10_000;
  let checks = 0;
  for (;;) {
    const n = await o.repo.purgeChecks(cutoff, batchSize);
    checks += n;
    if (n < batchSize) break;
  }
  const batches = await o.repo.purgeBatches(cutoff);
  const idempotencyRecords = await o.repo.purgeIdempotencyRecords(cutoff);
  o.metrics.purged.inc({ table: 'checks' }, checks);
  o.metrics.purged.inc({ table: 'batches' }, batches);
  o.metrics.purged.inc({ table: 'idempotency_records' }, idempotencyRecords);
  o.logger.info(
    { cutoff: cutoff.toISOString(), checks, batches, idempotencyRecords },
    'retention purge done',
  );
  return { cutoff, checks, batches, idempotencyRecords };
}

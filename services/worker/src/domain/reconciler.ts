import {
  type ChecksQueue,
  enqueuePlanned,
  isBulkKind,
  type Logger,
  laneOf,
  type PlannedJob,
  planBulk,
  planSingle,
  type RetryPolicy,
} from '@hes/core';
import type { ChecksRepository, StaleCheck } from '../adapters/checks-repository.js';
import type { WorkerMetrics } from '../adapters/metrics.js';

export interface ReconcilerOptions {
  repo: ChecksRepository;
  queue: ChecksQueue;
  retry: RetryPolicy;
  metrics: WorkerMetrics;
  logger: Logger;
  staleMs: number;
  /** At most this many stale rows per pass. */
  maxRows: number;
  /** Rows read (and held) at a time; default 1 000. */
  pageSize?: number;
}

export interface ReconcileReport {
  scanned: number;
  jobsMissing: number;
  redriven: number;
}

/** Job states that mean "no job will ever process these checks". */
const GONE = new Set(['unknown', 'completed', 'failed']);
const STATE_LOOKUPS_IN_FLIGHT = 200;
const DEFAULT_PAGE_SIZE = 1_000;

/**
 * PostgreSQL is the system of record (SPEC §5): a pending check whose BullMQ job is gone (Redis lost
 * its data, an enqueue after the INSERT failed, a job failed for a non-upstream reason) is re-enqueued.
 * Idempotent: singles keep their deterministic job id, so re-driving a check whose job came back in
 * the meantime is a no-op in BullMQ, and a job for already-final checks claims nothing.
 */
export async function reconcile(o: ReconcilerOptions): Promise<ReconcileReport> {
  // Batches whose last job finished but died before closing them (and all-INVALID rosters).
  const closed = await o.repo.completeFinishedBatches(o.staleMs);
  if (closed > 0) o.logger.info({ batches: closed }, 'reconciler completed finished batches');
  const totals = { jobsMissing: 0, orphans: 0, redriven: 0, jobs: 0 };
  // Page by page: a pass over a million stale rows (a big backlog) holds one page, not all of them.
  const scanned = await o.repo.scanStalePending(
    o.staleMs,
    o.maxRows,
    o.pageSize ?? DEFAULT_PAGE_SIZE,
    (page) => redrivePage(o, page, totals),
  );
  if (totals.redriven > 0 || totals.jobsMissing > 0 || totals.orphans > 0) {
    o.logger.warn({ scanned, ...totals }, 'reconciler re-drove pending checks whose job was missing');
  }
  return { scanned, jobsMissing: totals.jobsMissing, redriven: totals.redriven };
}

async function redrivePage(
  o: ReconcilerOptions,
  stale: StaleCheck[],
  totals: { jobsMissing: number; orphans: number; redriven: number; jobs: number },
): Promise<void> {
  const byJob = new Map<string, StaleCheck[]>();
  const orphans: StaleCheck[] = [];
  for (const check of stale) {
    if (!check.jobId) orphans.push(check);
    else pushTo(byJob, check.jobId, check);
  }

  const jobIds = [...byJob.keys()];
  const missing: StaleCheck[] = [...orphans];
  for (let i = 0; i < jobIds.length; i += STATE_LOOKUPS_IN_FLIGHT) {
    const slice = jobIds.slice(i, i + STATE_LOOKUPS_IN_FLIGHT);
    const states = await Promise.all(slice.map((id) => o.queue.getJobState(id)));
    await Promise.all(
      slice.map(async (jobId, k) => {
        const state = states[k]!;
        if (!GONE.has(state)) return;
        // A finished job with pending checks must go first, or the deterministic id would block the re-add.
        if (state !== 'unknown') await o.queue.remove(jobId);
        totals.jobsMissing++;
        missing.push(...byJob.get(jobId)!);
      }),
    );
  }
  totals.orphans += orphans.length;
  if (missing.length === 0) return;

  const plans = planRedrive(missing);
  await enqueuePlanned(o.queue, plans, o.retry);
  const assignments = plans.flatMap((p) =>
    p.name === 'single'
      ? [{ id: p.data.checkId, jobId: p.jobId }]
      : p.data.checkIds.map((id) => ({ id, jobId: p.jobId })),
  );
  const redriven = await o.repo.assignJobs(assignments);
  o.metrics.redriven.inc(redriven);
  totals.redriven += redriven;
  totals.jobs += plans.length;
}

/** Singles keep their deterministic id; roster checks of bulk kinds are re-chunked per (kind, batch). */
function planRedrive(checks: StaleCheck[]): PlannedJob[] {
  const plans: PlannedJob[] = [];
  const rosters = new Map<string, StaleCheck[]>();
  for (const check of checks) {
    const bulk = check.jobId
      ? check.jobId.startsWith('bulk-')
      : check.batchId !== null && isBulkKind(check.kind);
    if (!bulk || !isBulkKind(check.kind)) {
      plans.push(planSingle(check.id, check.requestId ?? undefined, laneOf(check.batchId)));
      continue;
    }
    pushTo(rosters, `${check.kind}:${check.batchId ?? ''}`, check);
  }
  for (const group of rosters.values()) {
    const first = group[0]!;
    const kind = first.kind === 'plus' ? 'plus' : 'standard';
    plans.push(
      ...planBulk(
        kind,
        first.batchId,
        group.map((c) => c.id),
        first.requestId ?? undefined,
      ),
    );
  }
  return plans;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

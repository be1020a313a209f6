import {
  type ChecksQueue,
  type CodeVault,
  createPgPool,
  type Logger,
  type PrismaClient,
  QUEUES,
  type RetryPolicy,
  type RosterJobName,
  type RosterRunJob,
  type RostersQueue,
  type ScheduleSyncReport,
  scheduledRosters,
  syncRosterSchedules,
  type VisitDefaults,
} from '@hes/core';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { rosterRunJob } from './roster-run-job.js';

export interface RostersRuntimeDeps {
  prisma: PrismaClient;
  databaseUrl: string;
  vault: CodeVault;
  /** BullMQ connection (maxRetriesPerRequest: null) and prefix shared with the other queues. */
  connection: Redis;
  prefix: string;
  checksQueue: ChecksQueue;
  retry: RetryPolicy;
  defaultVisit: VisitDefaults | null;
  logger: Logger;
}

export interface RostersRuntime {
  readonly queue: RostersQueue;
  /** Job schedulers made to match the rosters table (at start and on every maintenance pass). */
  syncSchedules(): Promise<ScheduleSyncReport>;
  close(force?: boolean): Promise<void>;
}

/**
 * The hes-rosters queue: BullMQ job schedulers (one per scheduled roster) produce `scheduled-run` jobs
 * that this worker turns into batches. Runs are few and heavy (up to 100 000 checks written in one
 * transaction), so one at a time per process, on a small pool of its own.
 */
export async function startRostersRuntime(deps: RostersRuntimeDeps): Promise<RostersRuntime> {
  const { logger } = deps;
  const pool = createPgPool(deps.databaseUrl, { max: 2, applicationName: 'hes-worker-rosters' });
  pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed (rosters)'));
  const queue: RostersQueue = new Queue<RosterRunJob, unknown, RosterJobName>(QUEUES.rosters, {
    connection: deps.connection,
    prefix: deps.prefix,
  });
  queue.on('error', (err) => logger.warn({ err }, 'rosters queue error'));
  const handle = rosterRunJob({
    pool,
    vault: deps.vault,
    defaultVisit: deps.defaultVisit,
    checksQueue: deps.checksQueue,
    retry: deps.retry,
    logger,
    ownerKey: async (rosterId) =>
      (await deps.prisma.roster.findUnique({ where: { id: rosterId }, select: { apiKeyId: true } }))
        ?.apiKeyId ?? null,
  });
  const worker = new Worker<RosterRunJob, unknown, RosterJobName>(QUEUES.rosters, handle, {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: 1,
    // A 100 000-item run takes seconds; a generous lock keeps it from being taken for stalled.
    lockDuration: 120_000,
  });
  worker.on('error', (err) => logger.error({ err }, 'rosters worker error'));
  worker.on('failed', (job, err) =>
    logger.error(
      { err, rosterId: job?.data.rosterId, jobId: job?.id, attempt: job?.attemptsMade },
      'roster run failed',
    ),
  );

  const syncSchedules = async () => {
    const report = await syncRosterSchedules(queue, scheduledRosters(deps.prisma));
    if (report.upserted > 0 || report.removed > 0)
      logger.info({ ...report }, 'roster schedules re-synchronised');
    return report;
  };
  await worker.waitUntilReady();
  try {
    await syncSchedules();
  } catch (err) {
    // Not fatal: the maintenance loop tries again on its next pass.
    logger.error({ err }, 'could not synchronise roster schedules at start');
  }

  return {
    queue,
    syncSchedules,
    async close(force = false) {
      await worker.close(force);
      await queue.close();
      await pool.end();
    },
  };
}

import { MAX_BULK_CODES } from '@hes/client';
import type { Queue } from 'bullmq';
import {
  type BulkCheckJob,
  bulkJobId,
  type CheckJobData,
  type CheckJobName,
  checkJobOptions,
  type RetryPolicy,
  ROSTER_JOB_PRIORITY,
  singleJobId,
} from './catalog.js';

export type ChecksQueue = Queue<CheckJobData, unknown, CheckJobName>;

/**
 * Whose work a job is: `interactive` for a check submitted on its own (a turnstile or a kiosk, often
 * waiting for the answer), `roster` for a roster's checks. Interactive jobs are taken first.
 */
export type JobLane = 'interactive' | 'roster';

/** A roster's checks carry its batch id; a check submitted on its own has none. */
export const laneOf = (batchId: string | null): JobLane => (batchId === null ? 'interactive' : 'roster');

/** The lane of a job as BullMQ hands it out: the inverse of the priority enqueuePlanned gave it. */
export const laneOfPriority = (priority: number | undefined): JobLane =>
  priority === ROSTER_JOB_PRIORITY ? 'roster' : 'interactive';

/** A unit of upstream work: one check, or up to 500 roster checks that go in one bulk call. */
export type PlannedJob =
  | {
      name: 'single';
      jobId: string;
      lane: JobLane;
      data: { checkId: string; requestId?: string | undefined };
    }
  | { name: 'bulk'; jobId: string; lane: 'roster'; data: BulkCheckJob };

export function planSingle(checkId: string, requestId?: string, lane: JobLane = 'interactive'): PlannedJob {
  return { name: 'single', jobId: singleJobId(checkId), lane, data: { checkId, requestId } };
}

/** Splits roster checks into bulk jobs of at most 500 codes (the Ministry's bulk limit, SPEC §3). */
export function planBulk(
  kind: BulkCheckJob['kind'],
  batchId: string | null,
  checkIds: readonly string[],
  requestId?: string,
  chunkSize = MAX_BULK_CODES,
): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  for (let i = 0; i < checkIds.length; i += chunkSize) {
    const ids = checkIds.slice(i, i + chunkSize);
    jobs.push({
      name: 'bulk',
      jobId: bulkJobId(batchId, ids[0]!),
      lane: 'roster',
      data: { kind, batchId, checkIds: ids, requestId },
    });
  }
  return jobs;
}

/**
 * Adds planned jobs in one round trip (BullMQ `addBulk` pipelines them). Roster jobs get a BullMQ
 * priority and interactive ones none: BullMQ hands out jobs without a priority before prioritised ones,
 * so a check someone waits for at a door is not queued behind a 100 000-code roster.
 */
export async function enqueuePlanned(
  queue: ChecksQueue,
  jobs: readonly PlannedJob[],
  policy: RetryPolicy,
): Promise<void> {
  if (jobs.length === 0) return;
  const opts = checkJobOptions(policy);
  const rosterOpts = { ...opts, priority: ROSTER_JOB_PRIORITY };
  for (let i = 0; i < jobs.length; i += 1_000) {
    await queue.addBulk(
      jobs.slice(i, i + 1_000).map((j) => ({
        name: j.name,
        data: j.data,
        opts: { ...(j.lane === 'roster' ? rosterOpts : opts), jobId: j.jobId },
      })),
    );
  }
}

import { type ChecksQueue, coalescer, enqueuePlanned, type PlannedJob, type RetryPolicy } from '@hes/core';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Enqueues planned jobs after their checks are committed. A failure (Redis down or slow) is logged and
 * reported, never thrown: the checks are already stored and the worker's reconciler re-drives checks
 * whose job is missing (SPEC §5), so the caller still gets its 202.
 */
export interface JobQueueOptions {
  /** Whether the queue's Redis connection is up; when it is not, enqueueing fails at once. */
  connected: () => boolean;
  timeoutMs?: number;
}

export class JobQueue {
  readonly #queue: ChecksQueue;
  readonly #policy: RetryPolicy;
  readonly #connected: () => boolean;
  readonly #timeoutMs: number;
  /** Single checks' jobs from requests that arrive together: one `addBulk`, one Redis round trip. */
  readonly #singles = coalescer(async (calls: readonly { job: PlannedJob; log: FastifyBaseLogger }[]) => {
    const ok = await this.#add(
      calls.map((c) => c.job),
      calls[0]!.log,
    );
    return calls.map(() => ok);
  });

  constructor(queue: ChecksQueue, policy: RetryPolicy, options: JobQueueOptions) {
    this.#queue = queue;
    this.#policy = policy;
    this.#connected = options.connected;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
  }

  get queue(): ChecksQueue {
    return this.#queue;
  }

  async enqueue(jobs: readonly PlannedJob[], log: FastifyBaseLogger): Promise<boolean> {
    if (jobs.length === 0) return true;
    if (jobs.length === 1) return this.#singles.load({ job: jobs[0]!, log });
    return this.#add(jobs, log);
  }

  async #add(jobs: readonly PlannedJob[], log: FastifyBaseLogger): Promise<boolean> {
    // BullMQ waits for a connection that is down instead of failing; the caller must not wait with it.
    if (!this.#connected()) {
      log.warn(
        { jobs: jobs.length, firstJobId: jobs[0]?.jobId },
        'Redis unavailable, not enqueued; the reconciler will re-drive the stored checks',
      );
      return false;
    }
    let timer: NodeJS.Timeout | undefined;
    // Big employee rosters are one job per check: allow time in proportion.
    const timeoutMs = this.#timeoutMs + jobs.length;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`enqueue timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([enqueuePlanned(this.#queue, jobs, this.#policy), timeout]);
      return true;
    } catch (err) {
      log.warn(
        { err, jobs: jobs.length, firstJobId: jobs[0]?.jobId },
        'enqueue failed; the reconciler will re-drive the stored checks',
      );
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

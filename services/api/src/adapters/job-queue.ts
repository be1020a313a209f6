import { type ChecksQueue, enqueuePlanned, type PlannedJob, type RetryPolicy } from '@hes/core';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Enqueues planned jobs after their checks are committed. A failure (Redis down or slow) is logged and
 * reported, never thrown: the checks are already stored and the worker's reconciler re-drives checks
 * whose job is missing (SPEC §5), so the caller still gets its 202.
 */
export class JobQueue {
  readonly #queue: ChecksQueue;
  readonly #policy: RetryPolicy;
  readonly #timeoutMs: number;

  constructor(queue: ChecksQueue, policy: RetryPolicy, timeoutMs = 5_000) {
    this.#queue = queue;
    this.#policy = policy;
    this.#timeoutMs = timeoutMs;
  }

  get queue(): ChecksQueue {
    return this.#queue;
  }

  async enqueue(jobs: readonly PlannedJob[], log: FastifyBaseLogger): Promise<boolean> {
    if (jobs.length === 0) return true;
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
      log.warn({ err, jobs: jobs.length, firstJobId: jobs[0]?.jobId }, 'enqueue failed; the reconciler will re-drive the stored checks');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

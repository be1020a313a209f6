import { applyRosterSchedule, type RosterSchedule, type RostersQueue } from '@hes/core';
import type { FastifyBaseLogger } from 'fastify';

export interface RosterSchedulerOptions {
  /** Whether the queue's Redis connection is up; BullMQ would otherwise wait for it. */
  connected: () => boolean;
  timeoutMs?: number;
}

/**
 * Writes a roster's schedule to its BullMQ job scheduler right after the row is committed, so a new or
 * changed schedule takes effect at once. A failure (Redis down or slow) is logged, never thrown: the
 * row is the system of record and every worker re-synchronises schedulers from the rosters table at
 * start and on each maintenance pass (@hes/core syncRosterSchedules).
 */
export class RosterScheduler {
  readonly #queue: RostersQueue;
  readonly #connected: () => boolean;
  readonly #timeoutMs: number;

  constructor(queue: RostersQueue, options: RosterSchedulerOptions) {
    this.#queue = queue;
    this.#connected = options.connected;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
  }

  get queue(): RostersQueue {
    return this.#queue;
  }

  async apply(roster: RosterSchedule, log: FastifyBaseLogger): Promise<boolean> {
    if (!this.#connected()) {
      log.warn({ rosterId: roster.id }, 'Redis unavailable; the workers will apply the roster schedule');
      return false;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`scheduler update timed out after ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    try {
      await Promise.race([applyRosterSchedule(this.#queue, roster), timeout]);
      return true;
    } catch (err) {
      log.warn(
        { err, rosterId: roster.id },
        'roster schedule not applied; the workers will re-synchronise it',
      );
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

import type { Logger, MaintenanceJobName } from '@hes/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface MaintenanceLoopOptions {
  redis: Redis;
  prefix: string;
  maintenanceQueue: Queue<unknown, unknown, MaintenanceJobName>;
  intervalMs: number;
  retentionCron: string;
  reconcile: () => Promise<unknown>;
  /** Re-creates job schedulers from PostgreSQL (roster schedules), which a Redis flush would lose. */
  resync?: () => Promise<unknown>;
  logger: Logger;
}

export const RETENTION_SCHEDULER_ID = 'retention-purge';

/**
 * Drives the maintenance work from a plain in-process timer in every worker, not from a BullMQ job
 * scheduler, because the reconciler is what heals a Redis that lost its data, and a scheduler lives in
 * that same Redis: after a flush nothing would ever run it again. Each tick:
 * - takes a fleet-wide lock (`SET NX PX 0.9 × interval`), so one process per interval reconciles; the lock
 *   expires by itself, so a flush or a crashed holder costs at most one interval;
 * - re-upserts the retention purge's cron job scheduler (idempotent), which a flush would also lose;
 * - re-synchronises the roster job schedulers from the rosters table (`resync`), for the same reason.
 */
export class MaintenanceLoop {
  readonly #o: MaintenanceLoopOptions;
  readonly #lockKey: string;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(options: MaintenanceLoopOptions) {
    this.#o = options;
    this.#lockKey = `${options.prefix}:hes:maintenance:reconcile-lock`;
  }

  /** Runs a first tick now (pending checks left by a previous crash are re-driven at start). */
  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.intervalMs);
    this.#timer.unref();
    void this.tick();
  }

  /** One tick; a tick still running is not overlapped. */
  tick(): Promise<void> {
    this.#running ??= this.#tick().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  async #tick(): Promise<void> {
    const { logger } = this.#o;
    try {
      await this.#o.maintenanceQueue.upsertJobScheduler(
        RETENTION_SCHEDULER_ID,
        { pattern: this.#o.retentionCron },
        { name: 'retention-purge', opts: { removeOnComplete: true, removeOnFail: 100 } },
      );
    } catch (err) {
      logger.error({ err }, 'could not schedule the retention purge');
    }
    try {
      await this.#o.resync?.();
    } catch (err) {
      logger.error({ err }, 'could not re-synchronise the roster schedules');
    }
    try {
      const lock = await this.#o.redis.set(
        this.#lockKey,
        String(process.pid),
        'PX',
        Math.floor(this.#o.intervalMs * 0.9),
        'NX',
      );
      if (lock !== 'OK') return;
      await this.#o.reconcile();
    } catch (err) {
      logger.error({ err }, 'reconciler run failed');
    }
  }
}

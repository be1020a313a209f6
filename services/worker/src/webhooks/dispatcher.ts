import type { Logger } from '@hes/core';
import type { JobsOptions, Queue } from 'bullmq';
import type { DeliveriesRepository } from './deliveries-repository.js';

export interface DispatcherOptions {
  repo: DeliveriesRepository;
  queue: Pick<Queue, 'addBulk'>;
  jobOptions: JobsOptions;
  logger: Logger;
  pollIntervalMs: number;
  /** A pending row handed to the queue longer ago than this is offered again (its job may be lost). */
  redispatchAfterMs: number;
  batchSize?: number;
}

/**
 * Moves pending outbox rows into the queue: on every NOTIFY, every poll interval and at start. The job id
 * is the delivery id, so offering a row whose job still exists is a no-op in BullMQ; runs are serialised
 * in this process and SKIP LOCKED shares the rows across a fleet.
 */
export class WebhookDispatcher {
  readonly #o: DispatcherOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer = setInterval(() => this.trigger(), this.#o.pollIntervalMs);
    this.#timer.unref();
    this.trigger();
  }

  /** Runs a dispatch now, or once more right after the one in progress. */
  trigger(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.trigger();
      }
    });
  }

  /** One full pass; resolves when every dispatchable row has been offered. */
  async dispatchNow(): Promise<number> {
    const size = this.#o.batchSize ?? 500;
    let total = 0;
    for (;;) {
      const ids = await this.#o.repo.claimDispatchable(size, this.#o.redispatchAfterMs);
      if (ids.length > 0) {
        await this.#o.queue.addBulk(
          ids.map((id) => ({
            name: 'deliver',
            data: { deliveryId: id },
            opts: { ...this.#o.jobOptions, jobId: id },
          })),
        );
      }
      total += ids.length;
      if (ids.length < size || this.#closed) return total;
    }
  }

  async #loop(): Promise<void> {
    try {
      const n = await this.dispatchNow();
      if (n > 0) this.#o.logger.debug({ deliveries: n }, 'webhook deliveries dispatched');
    } catch (err) {
      // Rows stay pending and are offered again after redispatchAfterMs.
      this.#o.logger.warn({ err }, 'webhook dispatch failed; will retry');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }
}

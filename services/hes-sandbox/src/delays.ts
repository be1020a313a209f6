import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Injected delays that a shutdown can cut short: on close the pending ones resolve at once, so a
 * SIGTERM does not wait out a 30-second "slow" response before the process can exit.
 */
export class Delays {
  readonly #controller = new AbortController();

  constructor() {
    // One listener per delayed request in flight (removed when its delay ends): 50 concurrent clients
    // are not a leak, and Node's warning at 11 would say they were.
    setMaxListeners(0, this.#controller.signal);
  }

  wait(ms: number): Promise<void> {
    if (ms <= 0 || this.#controller.signal.aborted) return Promise.resolve();
    return sleep(ms, undefined, { signal: this.#controller.signal }).catch(() => undefined);
  }

  /** True once the server started closing. */
  get cancelled(): boolean {
    return this.#controller.signal.aborted;
  }

  cancelAll(): void {
    this.#controller.abort();
  }
}

import type { Redis } from 'ioredis';

/**
 * Completion events over Redis pub/sub: the worker publishes the ids of checks that reached a final
 * status, the API's `?wait=` waiters listen. Events are hints, the database stays the truth: a waiter
 * re-reads the row after subscribing, so a missed event costs at most the wait, never a wrong answer.
 */
export const checkEventsChannel = (prefix: string) => `${prefix}:events:checks-final`;

export async function publishChecksFinal(
  redis: Redis,
  prefix: string,
  checkIds: readonly string[],
): Promise<void> {
  if (checkIds.length === 0) return;
  // One message per 500 ids keeps messages small for huge rosters.
  for (let i = 0; i < checkIds.length; i += 500) {
    await redis.publish(checkEventsChannel(prefix), checkIds.slice(i, i + 500).join(','));
  }
}

export type Unsubscribe = () => void;

/**
 * One subscriber connection per process fans events out to in-process listeners keyed by check id.
 */
export class CheckEventHub {
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #subscriber: Redis;
  readonly #channel: string;
  #ready: Promise<unknown> | null = null;

  constructor(subscriber: Redis, prefix: string) {
    this.#subscriber = subscriber;
    this.#channel = checkEventsChannel(prefix);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      for (const id of message.split(',')) {
        const set = this.#listeners.get(id);
        if (set) for (const fn of set) fn();
      }
    });
  }

  start(): Promise<unknown> {
    this.#ready ??= this.#whenConnected().then(() => this.#subscriber.subscribe(this.#channel));
    return this.#ready;
  }

  /**
   * SUBSCRIBE may be written while ioredis is still in its connect handshake (it is allowed before the
   * ready check); the ready check's INFO then fails in subscriber mode and the connection is torn down
   * and rebuilt. Subscribing once the connection is ready avoids that churn.
   */
  #whenConnected(): Promise<void> {
    if (this.#subscriber.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => this.#subscriber.once('ready', () => resolve()));
  }

  /** Calls `fn` when the check becomes final; returns the function that stops listening. */
  onFinal(checkId: string, fn: () => void): Unsubscribe {
    let set = this.#listeners.get(checkId);
    if (!set) {
      set = new Set();
      this.#listeners.set(checkId, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#listeners.delete(checkId);
    };
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#subscriber.disconnect();
  }
}

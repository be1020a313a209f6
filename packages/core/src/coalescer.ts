import DataLoader from 'dataloader';

/** What one coalesced call hands to its batch function, and the answer it expects for each key. */
export type CoalescedBatchFn<K, V> = (keys: readonly K[]) => Promise<readonly (V | Error)[]>;

/**
 * Calls made while one turn of the event loop handles its I/O (the API's requests whose bytes arrived
 * in the same poll phase, the worker's single-check jobs that finished together) reach `batch` as one
 * list: one SQL statement or one Redis round trip instead of one per caller. The flush runs in
 * setImmediate, after every I/O callback of that turn, so nothing waits on a timer and a lone call
 * still goes out in the same turn. An `Error` in the answer rejects only that key's caller.
 */
/** A coalesced caller's answer when its part failed: the thrown value as an Error. */
export const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export function coalescer<K, V>(batch: CoalescedBatchFn<K, V>, maxBatchSize = 256): DataLoader<K, V> {
  return new DataLoader<K, V>(batch, {
    cache: false,
    maxBatchSize,
    batchScheduleFn: (flush) => setImmediate(flush),
  });
}

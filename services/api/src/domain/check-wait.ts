import type { CheckEventHub } from '@hes/core';
import { type CheckRow, isFinal } from '@hes/core';

/** A subscription to one check's completion event, bounded by a deadline and an abort signal. */
export interface FinalWatch {
  /** Resolves on the completion event, at the deadline, or when the signal aborts; never rejects. */
  readonly settled: Promise<void>;
  /** Unsubscribes and clears the timer; idempotent. */
  stop(): void;
}

export function watchFinal(
  hub: CheckEventHub,
  checkId: string,
  waitMs: number,
  signal: AbortSignal,
): FinalWatch {
  let wake: () => void = () => {};
  const settled = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const unsubscribe = hub.onFinal(checkId, () => wake());
  const timer = setTimeout(() => wake(), waitMs);
  const onAbort = () => wake();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) wake();
  let stopped = false;
  return {
    settled,
    stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      wake();
    },
  };
}

/**
 * `?wait=` for a check that was subscribed to before it could complete (`watch` started before its job
 * was enqueued): `current` is the row as inserted, so the only read is the one after the event (or the
 * deadline, or `signal`: client gone, server closing).
 */
export async function awaitFinal(
  watch: FinalWatch,
  current: CheckRow,
  read: () => Promise<CheckRow | null>,
  signal: AbortSignal,
): Promise<CheckRow | null> {
  try {
    if (isFinal(current.status) || signal.aborted) return current;
    await watch.settled;
    // Aborted (client gone, server closing): answer with what is known rather than read from a pool
    // that may be closing with the server.
    return signal.aborted ? current : await read();
  } finally {
    watch.stop();
  }
}

/**
 * `?wait=` for a check that may already exist (an Idempotency-Key replay): listen for the worker's
 * completion event first, then read the row, so a completion that lands between the insert and the
 * read cannot be missed. No polling: one read before the wait and one after the event.
 */
export async function waitForFinal(
  hub: CheckEventHub,
  read: () => Promise<CheckRow | null>,
  checkId: string,
  waitMs: number,
  signal: AbortSignal,
): Promise<CheckRow | null> {
  const watch = watchFinal(hub, checkId, waitMs, signal);
  try {
    const first = await read();
    if (!first || isFinal(first.status) || signal.aborted) return first;
    await watch.settled;
    return signal.aborted ? first : await read();
  } finally {
    watch.stop();
  }
}

import type { CheckEventHub } from '@hes/core';
import { type CheckRow, isFinal } from '@hes/core';

/**
 * `?wait=`: listen for the worker's completion event first, then read the row, so a completion that
 * lands between the insert and the read cannot be missed. No polling: one read before the wait and one
 * after the event (or the deadline, or `signal`: client gone, server closing).
 */
export async function waitForFinal(
  hub: CheckEventHub,
  read: () => Promise<CheckRow | null>,
  checkId: string,
  waitMs: number,
  signal: AbortSignal,
): Promise<CheckRow | null> {
  let wake: () => void = () => {};
  const woken = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const unsubscribe = hub.onFinal(checkId, () => wake());
  const timer = setTimeout(() => wake(), waitMs);
  const onAbort = () => wake();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const first = await read();
    if (!first || isFinal(first.status) || signal.aborted) return first;
    await woken;
    return await read();
  } finally {
    unsubscribe();
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

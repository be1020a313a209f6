import { inspect } from 'node:util';

export interface WaitForOptions {
  /** Give up after this long; default 10 000 ms. */
  timeoutMs?: number;
  /** Pause between two polls; default 25 ms. */
  intervalMs?: number;
  /** What was awaited, for the timeout error. */
  message?: string;
}

export class WaitForTimeoutError extends Error {
  readonly code = 'WAIT_FOR_TIMEOUT';
  constructor(
    message: string,
    readonly lastValue: unknown,
    readonly lastError: unknown,
  ) {
    super(message, lastError === undefined ? undefined : { cause: lastError });
    this.name = 'WaitForTimeoutError';
  }
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

const show = (v: unknown): string => inspect(v, { depth: 4, breakLength: Number.POSITIVE_INFINITY });

/**
 * Polls `fn` until it returns a truthy value and resolves with it. A throw counts as "not yet" (the
 * row may not exist yet); on timeout the error carries the last value or error. Tests wait for a
 * condition with a deadline instead of sleeping a fixed time.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as Truthy<T>;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const last =
        lastError === undefined
          ? `last value: ${show(lastValue)}`
          : `last error: ${lastError instanceof Error ? lastError.message : show(lastError)}`;
      throw new WaitForTimeoutError(
        `${options.message ?? 'Condition not met'} (gave up after ${timeoutMs} ms; ${last})`,
        lastValue,
        lastError,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}

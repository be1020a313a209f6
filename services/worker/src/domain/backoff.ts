import type { BackoffStrategy } from 'bullmq';

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before retry number `attemptsMade` (1 = the first retry): exponential `base * 2^(n-1)`, capped,
 * with equal jitter (uniform in [cap/2, cap]) so a fleet that failed together does not retry together.
 * Equal rather than full jitter: the retry budget then has a floor (half the sum of the caps), so an
 * operator can say how long a Ministry outage the defaults ride out — at least ≈ 17 minutes — instead of
 * "on average", with a tail of checks failing early by bad luck.
 */
export function retryDelayMs(
  attemptsMade: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exp = policy.baseMs * 2 ** Math.max(0, attemptsMade - 1);
  const cap = Math.min(policy.maxMs, exp);
  return Math.floor(cap / 2 + random() * (cap / 2));
}

/**
 * The `hes` strategy named by core's `checkJobOptions`, registered in the Worker's settings. BullMQ passes
 * the attempts made including the one that just failed.
 */
export function hesBackoffStrategy(
  policy: BackoffPolicy,
  random: () => number = Math.random,
): BackoffStrategy {
  return (attemptsMade, type) => {
    if (type !== 'hes') throw new Error(`unknown backoff strategy ${String(type)}`);
    return retryDelayMs(attemptsMade, policy, random);
  };
}

import type { BackoffStrategy } from 'bullmq';

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before retry number `attemptsMade` (1 = the first retry): exponential `base * 2^(n-1)`, capped,
 * with full jitter (uniform in [0, cap]) so a fleet that failed together does not retry together.
 */
export function retryDelayMs(
  attemptsMade: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exp = policy.baseMs * 2 ** Math.max(0, attemptsMade - 1);
  const cap = Math.min(policy.maxMs, exp);
  return Math.floor(random() * cap);
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

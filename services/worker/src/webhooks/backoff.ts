import type { BackoffStrategy } from 'bullmq';

export interface WebhookBackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before retry `n` (1 = first retry): exponential `base * 2^(n-1)`, capped, with "equal jitter"
 * (half fixed, half random) so a fleet of receivers that failed together is not retried together, yet
 * a retry never fires immediately. A receiver's Retry-After (429/503) is honoured up to the cap.
 */
export function webhookRetryDelayMs(
  n: number,
  policy: WebhookBackoffPolicy,
  random: () => number = Math.random,
  retryAfterMs: number | null = null,
): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, n - 1));
  const jittered = Math.floor(exp / 2 + random() * (exp / 2));
  return Math.min(policy.maxMs, Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * Thrown by the delivery job for a failed attempt that will be retried. The job computes the delay
 * (so it can record next_attempt_at); the backoff strategy only reads it back: one place decides.
 */
export class WebhookRetryError extends Error {
  readonly code = 'WEBHOOK_RETRY';
  constructor(
    message: string,
    readonly retryInMs: number,
  ) {
    super(message);
    this.name = 'WebhookRetryError';
  }
}

export const WEBHOOK_BACKOFF_TYPE = 'hes-webhook';

export function webhookBackoffStrategy(
  policy: WebhookBackoffPolicy,
  random: () => number = Math.random,
): BackoffStrategy {
  return (attemptsMade, type, err) => {
    if (type !== WEBHOOK_BACKOFF_TYPE) throw new Error(`unknown backoff strategy ${String(type)}`);
    if (err instanceof WebhookRetryError) return err.retryInMs;
    // Anything else thrown (PostgreSQL briefly down): the same curve.
    return webhookRetryDelayMs(attemptsMade, policy, random);
  };
}

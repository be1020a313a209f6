import { type GatewayConfig, int, loadGatewayConfig, parseEnv, z } from '@hes/core';

/**
 * Default of HES_RATE_LIMIT_MARGIN_MS (see WorkerConfig.rateLimitMarginMs). It caps throughput at
 * 1000 / (1000 + 40) = 0.962 of the rate. It was 60 while a late departure forfeited its slot and
 * could only use half the margin. Now lateness beyond a quarter of the margin is recorded and holds
 * back its lane's next request (RedisRateLimiter.depart), so 30 ms are left for variation in delivery.
 * The pipeline bench reports the tightest span of rps + 1 arrivals: at 40 ms 1 011–1 033 ms over a
 * dozen runs on the 2-core box; at 30 and at 20 ms runs have reached 21 requests in a sliding second.
 */
export const DEFAULT_RATE_LIMIT_MARGIN_MS = 40;

/** Worker variables (SPEC §7 and the worker's own); core's parseEnv names the variable on error. */
const schema = z.object({
  WORKER_CONCURRENCY: int(16, 1, 1_000),
  WORKER_LOCK_DURATION_MS: int(30_000, 1_000, 600_000),
  WORKER_METRICS_PORT: int(9464, 0, 65_535),
  RECONCILE_INTERVAL_MS: int(30_000, 100, 3_600_000),
  RECONCILE_STALE_MS: int(60_000, 0, 86_400_000),
  RECONCILE_MAX_ROWS: int(50_000, 1, 1_000_000),
  RETENTION_CRON: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : '17 3 * * *'),
    z.string().regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression of 5 or 6 fields'),
  ),
  CREDENTIALS_COOLDOWN_MS: int(60_000, 100, 86_400_000),
  HES_MAX_THROTTLED_MS: int(10 * 60_000, 0, 3_600_000),
  HES_RATE_LIMIT_MARGIN_MS: int(DEFAULT_RATE_LIMIT_MARGIN_MS, 0, 500),
  WEBHOOK_MAX_ATTEMPTS: int(10, 1, 100),
  WEBHOOK_BACKOFF_BASE_MS: int(2_000, 10, 3_600_000),
  WEBHOOK_BACKOFF_MAX_MS: int(3_600_000, 100, 86_400_000),
  WEBHOOK_TIMEOUT_MS: int(10_000, 100, 10_000),
  WEBHOOK_CONCURRENCY: int(8, 1, 1_000),
  WEBHOOK_POLL_INTERVAL_MS: int(5_000, 100, 600_000),
});

export interface WorkerConfig {
  gateway: GatewayConfig;
  concurrency: number;
  /**
   * BullMQ job lock: a crashed worker's jobs go back to the queue within about this long (stalled
   * jobs are looked for at the same interval).
   */
  lockDurationMs: number;
  metricsPort: number;
  reconcileIntervalMs: number;
  /** Pending checks untouched for longer than this are candidates for a re-drive. */
  reconcileStaleMs: number;
  reconcileMaxRows: number;
  retentionCron: string;
  credentialsCooldownMs: number;
  /** A job waits out 429 pauses for at most this long before the call counts as a transient failure. */
  maxThrottledMs: number;
  /**
   * Jitter allowance of the limiter in ms per second: slots are spaced (1000 + margin) / rps apart; a
   * request may leave up to margin/4 after its slot (later, the fleet's schedule moves by the excess),
   * the rest absorbs variation in delivery. Measured: without it, 11 requests reached the sandbox in
   * one second at 10.
   */
  rateLimitMarginMs: number;
  /** Outbound webhooks (services/worker/src/webhooks): retries, backoff, per-request timeout, parallelism. */
  webhooks: {
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    timeoutMs: number;
    concurrency: number;
    /** The dispatcher also scans the outbox this often (LISTEN/NOTIFY is the fast path). */
    pollIntervalMs: number;
  };
}

/** Worker settings, parsed once at boot next to the shared gateway config. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const gateway = loadGatewayConfig(env);
  const e = parseEnv(schema, env);
  return {
    gateway,
    concurrency: e.WORKER_CONCURRENCY,
    lockDurationMs: e.WORKER_LOCK_DURATION_MS,
    metricsPort: e.WORKER_METRICS_PORT,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    reconcileStaleMs: e.RECONCILE_STALE_MS,
    reconcileMaxRows: e.RECONCILE_MAX_ROWS,
    retentionCron: e.RETENTION_CRON,
    credentialsCooldownMs: e.CREDENTIALS_COOLDOWN_MS,
    maxThrottledMs: e.HES_MAX_THROTTLED_MS,
    rateLimitMarginMs: e.HES_RATE_LIMIT_MARGIN_MS,
    webhooks: {
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      backoffBaseMs: e.WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: e.WEBHOOK_BACKOFF_MAX_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      pollIntervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
    },
  };
}

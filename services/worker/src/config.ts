import { ConfigError, type GatewayConfig, int, loadGatewayConfig } from '@hes/core';

/** One variable through one of core's coercing schemas; the error names the variable (SPEC §7). */
function intVar(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const result = int(def, min, max).safeParse(env[name]);
  if (result.success) return result.data;
  throw new ConfigError(`Invalid configuration: ${name}: ${result.error.issues[0]?.message ?? 'invalid'}`);
}

function cronVar(env: NodeJS.ProcessEnv, name: string, def: string): string {
  const value = env[name]?.trim() || def;
  if (!/^(\S+\s+){4,5}\S+$/.test(value)) {
    throw new ConfigError(`Invalid configuration: ${name}: must be a cron expression of 5 or 6 fields`);
  }
  return value;
}

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
   * request may leave up to margin/2 after its slot (later, the slot is forfeit), the other half absorbs
   * variation in delivery. Measured: without it, 11 requests reached the sandbox in one second at 10.
   */
  rateLimitMarginMs: number;
}

/** Worker settings, parsed once at boot next to the shared gateway config. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const gateway = loadGatewayConfig(env);
  return {
    gateway,
    concurrency: intVar(env, 'WORKER_CONCURRENCY', 16, 1, 1_000),
    lockDurationMs: intVar(env, 'WORKER_LOCK_DURATION_MS', 30_000, 1_000, 600_000),
    metricsPort: intVar(env, 'WORKER_METRICS_PORT', 9464, 0, 65_535),
    reconcileIntervalMs: intVar(env, 'RECONCILE_INTERVAL_MS', 30_000, 100, 3_600_000),
    reconcileStaleMs: intVar(env, 'RECONCILE_STALE_MS', 60_000, 0, 86_400_000),
    reconcileMaxRows: intVar(env, 'RECONCILE_MAX_ROWS', 50_000, 1, 1_000_000),
    retentionCron: cronVar(env, 'RETENTION_CRON', '17 3 * * *'),
    credentialsCooldownMs: intVar(env, 'CREDENTIALS_COOLDOWN_MS', 60_000, 100, 86_400_000),
    maxThrottledMs: intVar(env, 'HES_MAX_THROTTLED_MS', 10 * 60_000, 0, 3_600_000),
    rateLimitMarginMs: intVar(env, 'HES_RATE_LIMIT_MARGIN_MS', 60, 0, 500),
  };
}

import { z } from 'zod';
import type { FaultConfig } from './faults.js';

export const SANDBOX_DEFAULT_USERNAME = 'hes-sandbox';
export const SANDBOX_DEFAULT_PASSWORD = 'hes-sandbox-secret';
export const SANDBOX_DEFAULT_PORT = 4010;
export const SANDBOX_DEFAULT_HOST = '127.0.0.1';

/** Thrown at start when the environment is invalid; the message names the variable (SPEC §7). */
export class SandboxConfigError extends Error {
  readonly code = 'SANDBOX_CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SandboxConfigError';
  }
}

export interface SandboxConfig {
  host: string;
  port: number;
  username: string;
  password: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  logPretty: boolean;
  faults: FaultConfig;
}

// Empty strings count as unset: compose files and shells often export `VAR=`.
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const text = (def: string) => z.preprocess(unsetIfEmpty, z.string().default(def));
const int = (def: number, min: number, max: number) =>
  z.preprocess(unsetIfEmpty, z.coerce.number().int().min(min).max(max).default(def));
const share = z.preprocess(unsetIfEmpty, z.coerce.number().min(0).max(1).default(0));

const schema = z.object({
  HES_USERNAME: text(SANDBOX_DEFAULT_USERNAME).pipe(
    z.string().refine((v) => !v.includes(':'), 'must not contain ":" (HTTP Basic user names cannot)'),
  ),
  HES_PASSWORD: text(SANDBOX_DEFAULT_PASSWORD),
  SANDBOX_PORT: int(SANDBOX_DEFAULT_PORT, 0, 65_535),
  SANDBOX_HOST: text(SANDBOX_DEFAULT_HOST),
  LOG_LEVEL: z.preprocess(
    unsetIfEmpty,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  LOG_PRETTY: z.preprocess(unsetIfEmpty, z.enum(['true', 'false', '1', '0']).default('false')),
  SANDBOX_LATENCY_MS: int(0, 0, 600_000),
  SANDBOX_LATENCY_JITTER_MS: int(0, 0, 600_000),
  SANDBOX_ERROR_RATE: share,
  SANDBOX_RATE_LIMIT_RPS: int(0, 0, 1_000_000),
  SANDBOX_RESET_RATE: share,
  SANDBOX_SLOW_RATE: share,
  SANDBOX_SLOW_MS: int(30_000, 0, 600_000),
  SANDBOX_FAULT_SEED: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(0xffffffff).optional()),
});

/** Parses the environment once at start; the first problem becomes one message naming the variable. */
export function loadSandboxConfig(env: NodeJS.ProcessEnv): SandboxConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = issue.path.length > 0 ? issue.path.join('.') : 'environment';
    // Credentials are never echoed; other values are, since "got" is what makes a typo obvious.
    const got = name.startsWith('HES_') ? '' : ` (got ${JSON.stringify(env[name] ?? null)})`;
    throw new SandboxConfigError(`Invalid configuration: ${name}: ${issue.message}${got}`);
  }
  const e = result.data;
  return {
    host: e.SANDBOX_HOST,
    port: e.SANDBOX_PORT,
    username: e.HES_USERNAME,
    password: e.HES_PASSWORD,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY === 'true' || e.LOG_PRETTY === '1',
    faults: {
      latencyMs: e.SANDBOX_LATENCY_MS,
      latencyJitterMs: e.SANDBOX_LATENCY_JITTER_MS,
      errorRate: e.SANDBOX_ERROR_RATE,
      rateLimitRps: e.SANDBOX_RATE_LIMIT_RPS,
      resetRate: e.SANDBOX_RESET_RATE,
      slowRate: e.SANDBOX_SLOW_RATE,
      slowMs: e.SANDBOX_SLOW_MS,
      seed: e.SANDBOX_FAULT_SEED ?? null,
    },
  };
}

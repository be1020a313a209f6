import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  ConfigError,
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  int,
  num,
  optionalNum,
  optionalString,
  parseEnv,
  SANDBOX_DEFAULT_PASSWORD,
  SANDBOX_DEFAULT_USERNAME,
  sandboxBaseUrl,
  url,
} from './env.js';

/**
 * Settings shared by the API and the worker (SPEC §7). Production (NODE_ENV=production) must name the
 * Ministry endpoint, its credentials and the data key; elsewhere they default to the local sandbox so
 * `pnpm dev` works with nothing set. This is the only place NODE_ENV is read.
 */
const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: url(DEFAULT_DATABASE_URL),
    REDIS_URL: url(DEFAULT_REDIS_URL),
    /** Prefix of every Redis key (queues, rate limiter, events); lets tests and tenants share one Redis. */
    REDIS_PREFIX: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .regex(/^[A-Za-z0-9_.:-]+$/)
        .default('hes'),
    ),
    HES_BASE_URL: optionalString.pipe(z.string().url().optional()),
    HES_USERNAME: optionalString,
    HES_PASSWORD: optionalString,
    HES_DATA_KEY: optionalString,
    HES_RATE_LIMIT_RPS: num(10, 0.1, 10_000),
    HES_MAX_ATTEMPTS: int(15, 1, 100),
    HES_BACKOFF_BASE_MS: int(1_000, 10, 600_000),
    HES_BACKOFF_MAX_MS: int(5 * 60_000, 100, 3_600_000),
    HES_REQUEST_TIMEOUT_MS: int(15_000, 100, 300_000),
    HES_VISIT_CITY: optionalString,
    HES_VISIT_DISTRICT: optionalString,
    HES_VISIT_ADDRESS: optionalString,
    HES_VISIT_LATITUDE: optionalNum(-90, 90),
    HES_VISIT_LONGITUDE: optionalNum(-180, 180),
    RETENTION_DAYS: int(30, 1, 3650),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Human-readable logs (set by `pnpm dev`); JSON lines otherwise. */
    LOG_PRETTY: z.preprocess(
      (v) => (v === '' || v === undefined ? 'false' : v),
      z.enum(['true', 'false', '1', '0']),
    ),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production') {
      for (const name of ['HES_BASE_URL', 'HES_USERNAME', 'HES_PASSWORD', 'HES_DATA_KEY'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required in production' });
      }
    }
    const visit = [env.HES_VISIT_CITY, env.HES_VISIT_DISTRICT, env.HES_VISIT_ADDRESS];
    if (visit.some(Boolean) && !visit.every(Boolean)) {
      ctx.addIssue({
        code: 'custom',
        path: ['HES_VISIT_CITY'],
        message: 'HES_VISIT_CITY, HES_VISIT_DISTRICT and HES_VISIT_ADDRESS must be set together',
      });
    }
    if ((env.HES_VISIT_LATITUDE === undefined) !== (env.HES_VISIT_LONGITUDE === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['HES_VISIT_LATITUDE'],
        message: 'HES_VISIT_LATITUDE and HES_VISIT_LONGITUDE must be set together',
      });
    }
  });

export interface VisitDefaults {
  city: string;
  district: string;
  address: string;
  latitude: number | null;
  longitude: number | null;
}

export interface GatewayConfig {
  env: 'development' | 'test' | 'production';
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  hes: {
    baseUrl: string;
    username: string;
    password: string;
    rateLimitRps: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    requestTimeoutMs: number;
  };
  /** 32 bytes: AES-256-GCM of pending codes and the HMAC key are derived from it (SPEC §6). */
  dataKey: Buffer;
  dataKeyIsDevDefault: boolean;
  defaultVisit: VisitDefaults | null;
  retentionDays: number;
  logLevel: string;
  logPretty: boolean;
}

/** Only ever used outside production, and flagged at start: pending codes of a dev box are not secret. */
const DEV_DATA_KEY = createHash('sha256').update('hes-gateway development data key').digest();

export function decodeDataKey(value: string, name = 'HES_DATA_KEY'): Buffer {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== value.trim().replace(/=+$/, '')) {
    throw new ConfigError(
      `Invalid configuration: ${name}: must be 32 bytes encoded in base64 (openssl rand -base64 32)`,
    );
  }
  return key;
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const e = parseEnv(schema, env);
  const dataKey = e.HES_DATA_KEY ? decodeDataKey(e.HES_DATA_KEY) : DEV_DATA_KEY;
  return {
    env: e.NODE_ENV,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    hes: {
      baseUrl: e.HES_BASE_URL ?? sandboxBaseUrl(),
      username: e.HES_USERNAME ?? SANDBOX_DEFAULT_USERNAME,
      password: e.HES_PASSWORD ?? SANDBOX_DEFAULT_PASSWORD,
      rateLimitRps: e.HES_RATE_LIMIT_RPS,
      maxAttempts: e.HES_MAX_ATTEMPTS,
      backoffBaseMs: e.HES_BACKOFF_BASE_MS,
      backoffMaxMs: e.HES_BACKOFF_MAX_MS,
      requestTimeoutMs: e.HES_REQUEST_TIMEOUT_MS,
    },
    dataKey,
    dataKeyIsDevDefault: !e.HES_DATA_KEY,
    defaultVisit:
      e.HES_VISIT_CITY && e.HES_VISIT_DISTRICT && e.HES_VISIT_ADDRESS
        ? {
            city: e.HES_VISIT_CITY,
            district: e.HES_VISIT_DISTRICT,
            address: e.HES_VISIT_ADDRESS,
            latitude: e.HES_VISIT_LATITUDE ?? null,
            longitude: e.HES_VISIT_LONGITUDE ?? null,
          }
        : null,
    retentionDays: e.RETENTION_DAYS,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY === 'true' || e.LOG_PRETTY === '1',
  };
}

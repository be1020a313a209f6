import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import type { RedisClient } from '../deps.js';
import { ApiProblem } from '../domain/problem.js';
import type { AdmissionHook } from './auth.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Per-API-key rate limit (429 RATE_LIMITED); a no-op when the limit is off. */
    keyRateLimit: AdmissionHook;
  }
}

export interface RateLimitOptions {
  redis: RedisClient;
  /** The deployment's REDIS_PREFIX: the key is `${prefix}:ratelimit:key:<apiKeyId>`. */
  prefix: string;
  /** Sustained requests per second per key; 0 disables the limit. */
  rps: number;
  /** Requests a key may send back to back. */
  burst: number;
  /** A Redis that does not answer within this long does not hold requests up (fail open). */
  timeoutMs?: number;
}

/**
 * GCRA in one round trip, on Redis's clock so every API instance agrees. State is one number, the
 * theoretical arrival time (µs); a request is admitted while it lies less than `burst` emission
 * intervals ahead of now. Returns {admitted, retryAfterMicros}.
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local ahead = tat - now
if ahead > tolerance then
  return {0, math.ceil(ahead - tolerance)}
end
local nextTat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.ceil((nextTat - now) / 1000) + 1)
return {1, 0}
`;

type Gcra = (key: string, interval: string, tolerance: string) => Promise<[number, number]>;

const COMMAND = 'hesKeyRateLimit';

/**
 * Redis-backed per-key limit, shared by every API instance. It runs after authentication, before the
 * body is read. Redis trouble never refuses a request: the limit protects the gateway, and refusing
 * turnstiles because Redis hiccuped would hurt more than a burst let through (Postgres still stores
 * every check; the reconciler enqueues what Redis missed).
 */
export default fp<RateLimitOptions>(
  async function rateLimit(app: FastifyInstance, opts) {
    const timeoutMs = opts.timeoutMs ?? 250;
    const limited = new Counter({
      name: 'hes_api_rate_limited_total',
      help: 'Requests refused with 429 RATE_LIMITED by the per-key limit',
      registers: [app.metricsRegistry],
    });
    const bypassed = new Counter({
      name: 'hes_api_rate_limit_bypassed_total',
      help: 'Requests admitted without the per-key limit because Redis was unavailable (fail open)',
      registers: [app.metricsRegistry],
    });

    if (opts.rps <= 0) {
      app.decorate('keyRateLimit', () => {});
      return;
    }
    const redis = opts.redis as RedisClient & { [COMMAND]?: Gcra };
    // ioredis sends EVALSHA and falls back to EVAL once after a SCRIPT FLUSH or a failover.
    if (typeof redis[COMMAND] !== 'function') redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: GCRA });
    const gcra = redis[COMMAND] as Gcra;
    const intervalUs = 1_000_000 / opts.rps;
    const interval = intervalUs.toFixed(3);
    const tolerance = (intervalUs * (opts.burst - 1)).toFixed(3);

    let lastWarnAt = Number.NEGATIVE_INFINITY;

    async function check(keyId: string): Promise<number | 'bypass'> {
      if (redis.status !== 'ready') return 'bypass';
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'bypass'>((resolve) => {
        timer = setTimeout(() => resolve('bypass'), timeoutMs);
      });
      try {
        const call = gcra
          .call(redis, `${opts.prefix}:ratelimit:key:${keyId}`, interval, tolerance)
          .then(([admitted, retryUs]) => (admitted === 1 ? 0 : Number(retryUs)));
        // A late answer after the timeout must not surface as an unhandled rejection.
        call.catch(() => {});
        return await Promise.race([call, timeout]);
      } catch {
        return 'bypass';
      } finally {
        clearTimeout(timer);
      }
    }

    app.decorate('keyRateLimit', async (principal, request) => {
      const result = await check(principal.keyId);
      if (result === 'bypass') {
        bypassed.inc();
        // Once per interval, not once per request: an outage must not flood the log.
        const t = Date.now();
        if (t - lastWarnAt >= 10_000) {
          lastWarnAt = t;
          request.log.warn('per-key rate limit skipped: Redis unavailable');
        }
        return;
      }
      if (result === 0) return;
      limited.inc();
      const retryAfter = Math.max(1, Math.ceil(result / 1_000_000));
      throw new ApiProblem('RATE_LIMITED', {
        detail: `This API key exceeds ${opts.rps} requests per second; retry after ${retryAfter} s`,
        headers: { 'retry-after': String(retryAfter) },
      });
    });
  },
  { name: 'rate-limit', dependencies: ['metrics'] },
);

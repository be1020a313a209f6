import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { mulberry32 } from './random.js';
import { SlidingWindow } from './sliding-window.js';

/**
 * Fault injection: everything is off by default so the sandbox's answers are deterministic (SPEC §3).
 * Settable from the environment at start (config.ts) and at runtime through PUT /__sandbox/faults.
 */
const MAX_DELAY_MS = 600_000;
const rate = z.number().min(0).max(1);
const delay = z.number().int().min(0).max(MAX_DELAY_MS);

export const faultConfigSchema = z.strictObject({
  /** Mean latency added to every accepted Ministry request, ms. */
  latencyMs: delay,
  /** Uniform ± jitter around latencyMs, ms (the result is clamped at 0). */
  latencyJitterMs: delay,
  /** Share of accepted requests answered 502/503/504 with an HTML gateway page. */
  errorRate: rate,
  /** Accepted requests per sliding 1-second window; 0 = unlimited. */
  rateLimitRps: z.number().int().min(0).max(1_000_000),
  /** Share of accepted requests whose socket is destroyed without an answer. */
  resetRate: rate,
  /** Share of accepted requests delayed by an extra slowMs (to trip client timeouts). */
  slowRate: rate,
  slowMs: delay,
  /** Seed of the fault PRNG; null = a random seed. */
  seed: z.number().int().min(0).max(0xffffffff).nullable(),
});
export type FaultConfig = z.infer<typeof faultConfigSchema>;

export const faultPatchSchema = faultConfigSchema.partial();
export type FaultPatch = z.infer<typeof faultPatchSchema>;

export const FAULTS_OFF: Readonly<FaultConfig> = Object.freeze({
  latencyMs: 0,
  latencyJitterMs: 0,
  errorRate: 0,
  rateLimitRps: 0,
  resetRate: 0,
  slowRate: 0,
  slowMs: 30_000,
  seed: null,
});

export type GatewayErrorStatus = 502 | 503 | 504;
const ERROR_STATUSES: readonly GatewayErrorStatus[] = [502, 503, 504];

export type Admission = { admitted: true } | { admitted: false; retryAfterSeconds: number };

export interface FaultDecision {
  /** Total delay before answering (latency + jitter, plus slowMs for a slow response). */
  delayMs: number;
  slow: boolean;
  reset: boolean;
  errorStatus: GatewayErrorStatus | null;
}

export interface FaultInjectorOptions {
  /** Replaces the seeded PRNG entirely (tests). */
  random?: () => number;
}

export class FaultInjector {
  #config: FaultConfig;
  readonly #initial: FaultConfig;
  readonly #injectedRandom: (() => number) | undefined;
  #random: () => number;
  /** Arrival times of admitted requests within the last second (the rate limiter's window). */
  readonly #window = new SlidingWindow(1000);

  constructor(config: Partial<FaultConfig> = {}, options: FaultInjectorOptions = {}) {
    this.#config = faultConfigSchema.parse({ ...FAULTS_OFF, ...config });
    this.#initial = { ...this.#config };
    this.#injectedRandom = options.random;
    this.#random = this.#makeRandom();
  }

  get config(): FaultConfig {
    return { ...this.#config };
  }

  /** Applies a partial update; throws a ZodError on bad input. A `seed` in the patch reseeds. */
  update(patch: unknown): FaultConfig {
    const parsed = faultPatchSchema.parse(patch);
    const limitChanged =
      parsed.rateLimitRps !== undefined && parsed.rateLimitRps !== this.#config.rateLimitRps;
    this.#config = { ...this.#config, ...parsed };
    if ('seed' in parsed) this.#random = this.#makeRandom();
    // A new limit starts from an empty window: requests accepted under the old setting do not count.
    if (limitChanged) this.#window.clear();
    return this.config;
  }

  /** Back to the configuration the sandbox started with (environment / options). */
  restore(): FaultConfig {
    this.#config = { ...this.#initial };
    this.#random = this.#makeRandom();
    this.#window.clear();
    return this.config;
  }

  /**
   * The sliding-window rate limit: admitted when fewer than `rateLimitRps` requests were admitted in the
   * last 1000 ms. Rejected requests are not recorded, so a client that backs off is not punished for
   * the 429s it received. `now` is the request's arrival time on a monotonic ms clock.
   */
  admit(now: number): Admission {
    const limit = this.#config.rateLimitRps;
    this.#window.evict(now);
    if (limit > 0 && this.#window.size >= limit) {
      const freedAt = this.#window.at(this.#window.size - limit) + this.#window.lengthMs;
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((freedAt - now) / 1000)) };
    }
    this.#window.push(now);
    return { admitted: true };
  }

  /** Draws the faults for one admitted request. Always five draws, so a seed replays exactly. */
  decide(): FaultDecision {
    const c = this.#config;
    const [rReset, rError, rStatus, rSlow, rJitter] = [
      this.#random(),
      this.#random(),
      this.#random(),
      this.#random(),
      this.#random(),
    ];
    const slow = rSlow < c.slowRate;
    const jitter = c.latencyJitterMs === 0 ? 0 : (rJitter * 2 - 1) * c.latencyJitterMs;
    const latency = Math.max(0, Math.round(c.latencyMs + jitter));
    return {
      delayMs: latency + (slow ? c.slowMs : 0),
      slow,
      reset: rReset < c.resetRate,
      errorStatus: rError < c.errorRate ? ERROR_STATUSES[Math.floor(rStatus * ERROR_STATUSES.length)]! : null,
    };
  }

  #makeRandom(): () => number {
    return this.#injectedRandom ?? mulberry32(this.#config.seed ?? randomInt(0x100000000));
  }
}

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A fleet-wide circuit for rejected credentials (SPEC §3, §5: 401/403 are not retryable per check and
 * must stop hammering the Ministry). Three Redis keys:
 * - `failing`: the Ministry rejected our credentials and nobody has seen them accepted since;
 * - `open` (expires after the cooldown): while it exists every job fails fast without calling upstream;
 * - `probe` (SET NX): after the cooldown exactly one process sends one real call to find out.
 */
export type Admission = 'closed' | 'open' | 'probe' | 'probing';

export interface CircuitOptions {
  redis: Redis;
  prefix: string;
  cooldownMs: number;
  /** How long a probe may take before another process may probe (a crashed prober must not wedge it). */
  probeTtlMs: number;
}

// closed: call as usual; open: fail fast; probe: this caller is the one probe (lock taken);
// probing: another process's probe is in flight, wait for its verdict.
const ADMIT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'closed' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'open' end
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'probe' end
return 'probing'`;

// Returns 'opened' (first rejection), 'reopened' (a probe or a late call was rejected again after the
// cooldown) or 'already-open' (a concurrent rejection of the same opening).
const REJECT_LUA = `
local wasFailing = redis.call('EXISTS', KEYS[1]) == 1
local wasOpen = redis.call('EXISTS', KEYS[2]) == 1
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
if not wasFailing then return 'opened' end
if not wasOpen then return 'reopened' end
return 'already-open'`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 1`;

export type RejectResult = 'opened' | 'reopened' | 'already-open';

export class CredentialsCircuit {
  readonly #redis: Redis;
  readonly #keys: [string, string, string];
  readonly #cooldownMs: number;
  readonly #probeTtlMs: number;
  /** Identifies this process's probe lock. */
  readonly #token = randomUUID();

  constructor(options: CircuitOptions) {
    this.#redis = options.redis;
    const base = `${options.prefix}:hes:credentials`;
    this.#keys = [`${base}:failing`, `${base}:open`, `${base}:probe`];
    this.#cooldownMs = options.cooldownMs;
    this.#probeTtlMs = options.probeTtlMs;
  }

  /** While the cooldown runs. */
  async isOpen(): Promise<boolean> {
    return (await this.#redis.exists(this.#keys[0], this.#keys[1])) === 2;
  }

  /** Before a call: may it go upstream, is it the half-open probe, or must it wait for one? */
  async admit(): Promise<Admission> {
    return (await this.#redis.eval(ADMIT_LUA, 3, ...this.#keys, this.#token, this.#probeTtlMs)) as Admission;
  }

  /** The Ministry answered 401/403. */
  async reject(): Promise<RejectResult> {
    return (await this.#redis.eval(
      REJECT_LUA,
      3,
      ...this.#keys,
      this.#token,
      Date.now(),
      this.#cooldownMs,
    )) as RejectResult;
  }

  /** The probe got a real answer: the credentials work again. */
  async accept(): Promise<void> {
    await this.#redis.del(...this.#keys);
  }

  /** The probe was inconclusive (a transient failure): let the next caller probe. */
  async releaseProbe(): Promise<void> {
    await this.#redis.eval(RELEASE_LUA, 3, ...this.#keys, this.#token);
  }

  /** Fleet-wide: 1 while the Ministry is rejecting our credentials. */
  async isFailing(): Promise<boolean> {
    return (await this.#redis.exists(this.#keys[0])) === 1;
  }
}

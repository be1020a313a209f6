import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A fleet-wide circuit for the credentials (SPEC §3, §5: 401/403 are not retryable per check and must
 * stop hammering the Ministry). Four Redis keys:
 * - `verified` (expires): the Ministry accepted our credentials recently; calls go out freely;
 * - `failing`: the Ministry rejected them and nobody has seen them accepted since;
 * - `open` (expires after the cooldown): while it exists every job fails fast without calling upstream;
 * - `probe` (SET NX): when the credentials are not known good (a fresh fleet, after the cooldown, after
 *   `verified` expired) exactly one call goes out and the others wait for its verdict.
 * So wrong credentials cost one call per cooldown, however many workers and jobs there are.
 */
export type Admission = 'closed' | 'open' | 'probe' | 'probing';

export interface CircuitOptions {
  redis: Redis;
  prefix: string;
  cooldownMs: number;
  /** How long a probe may take before another process may probe (a crashed prober must not wedge it). */
  probeTtlMs: number;
  /** How long an accepted answer vouches for the credentials. Default 10 minutes. */
  verifiedTtlMs?: number;
}

// KEYS: failing, open, probe, verified. closed: call as usual; open: fail fast; probe: this caller
// is the one probe (lock taken); probing: another caller's probe is in flight, wait for its verdict.
const ADMIT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('EXISTS', KEYS[2]) == 1 then return 'open' end
elseif redis.call('EXISTS', KEYS[4]) == 1 then
  return 'closed'
end
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'probe' end
return 'probing'`;

// Returns 'opened' (first rejection), 'reopened' (a probe or a late call was rejected again after the
// cooldown) or 'already-open' (a concurrent rejection of the same opening).
const REJECT_LUA = `
local wasFailing = redis.call('EXISTS', KEYS[1]) == 1
local wasOpen = redis.call('EXISTS', KEYS[2]) == 1
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[4])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
if not wasFailing then return 'opened' end
if not wasOpen then return 'reopened' end
return 'already-open'`;

// Returns 1 when the credentials had been failing (the circuit closes now).
const ACCEPT_LUA = `
local wasFailing = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SET', KEYS[4], '1', 'PX', ARGV[1])
return wasFailing`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 1`;

export type RejectResult = 'opened' | 'reopened' | 'already-open';

/**
 * The scripts as ioredis commands: EVALSHA (the script is sent once per connection, not with every
 * call; `admit` runs before every upstream request).
 */
const COMMANDS = {
  hesCircuitAdmit: ADMIT_LUA,
  hesCircuitReject: REJECT_LUA,
  hesCircuitAccept: ACCEPT_LUA,
  hesCircuitRelease: RELEASE_LUA,
} as const;
type CommandName = keyof typeof COMMANDS;
type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

export class CredentialsCircuit {
  readonly #redis: Redis;
  readonly #keys: [string, string, string, string];
  readonly #cooldownMs: number;
  readonly #probeTtlMs: number;
  readonly #verifiedTtlMs: number;
  /** Identifies this process's probe lock. */
  readonly #token = randomUUID();

  constructor(options: CircuitOptions) {
    this.#redis = options.redis;
    const base = `${options.prefix}:hes:credentials`;
    this.#keys = [`${base}:failing`, `${base}:open`, `${base}:probe`, `${base}:verified`];
    this.#cooldownMs = options.cooldownMs;
    this.#probeTtlMs = options.probeTtlMs;
    this.#verifiedTtlMs = options.verifiedTtlMs ?? 10 * 60_000;
    for (const [name, lua] of Object.entries(COMMANDS)) {
      if (!(name in this.#redis)) this.#redis.defineCommand(name, { numberOfKeys: 4, lua });
    }
  }

  #run(name: CommandName, ...args: (string | number)[]): Promise<unknown> {
    const command = (this.#redis as unknown as Record<CommandName, ScriptCommand>)[name];
    return command.call(this.#redis, ...this.#keys, ...args);
  }

  /** While the cooldown runs. */
  async isOpen(): Promise<boolean> {
    return (await this.#redis.exists(this.#keys[0], this.#keys[1])) === 2;
  }

  /** Before a call: may it go upstream, is it the probe, or must it wait for one? */
  async admit(): Promise<Admission> {
    return (await this.#run('hesCircuitAdmit', this.#token, this.#probeTtlMs)) as Admission;
  }

  /** The Ministry answered 401/403. */
  async reject(): Promise<RejectResult> {
    return (await this.#run('hesCircuitReject', this.#token, Date.now(), this.#cooldownMs)) as RejectResult;
  }

  /** The probe got a real answer: the credentials work. Resolves true when they had been failing. */
  async accept(): Promise<boolean> {
    return (await this.#run('hesCircuitAccept', this.#verifiedTtlMs)) === 1;
  }

  /** The probe was inconclusive (a transient failure, a 429): let the next caller probe. */
  async releaseProbe(): Promise<void> {
    await this.#run('hesCircuitRelease', this.#token);
  }

  /** Fleet-wide: true while the Ministry is rejecting our credentials. */
  async isFailing(): Promise<boolean> {
    return (await this.#redis.exists(this.#keys[0])) === 1;
  }
}

import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RATE_LIMITER_LUA } from './redis-rate-limiter.lua.js';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined);

export interface RateLimiterOptions {
  redis: Redis;
  /** Key prefix (the deployment's REDIS_PREFIX): every process with the same prefix shares one schedule. */
  prefix: string;
  /** Requests per second towards the Ministry, for the whole fleet. */
  rps: number;
  /** Jitter allowance per second (ms): slots are (1000 + marginMs) / rps apart. */
  marginMs?: number;
  /** Clock override for tests; by default the script reads Redis `TIME`, the one clock all processes share. */
  now?: () => number;
  sleep?: Sleep;
}

export interface Reservation {
  /** When the caller may send, on the limiter's clock (ms). */
  slotAt: number;
  /** How long the caller slept in total, pauses included. */
  waitedMs: number;
  /** Local monotonic time (performance.now()) after which the slot is forfeit: see `isLate`. */
  sendBy: number;
}

export interface PauseResult {
  /** True when this call moved the fleet-wide pause further out (false: an existing pause already covered it). */
  extended: boolean;
  remainingMs: number;
}

/** [state, wait or remaining ms, the script's clock, the schedule after a reservation]. */
type ScriptReply = [string, string, string, string?];
type ScriptRunner = (
  tatKey: string,
  pauseKey: string,
  mode: string,
  arg: string,
  now: string,
  floor: string,
) => Promise<ScriptReply>;

const COMMAND = 'hesRateLimit';

/**
 * One global schedule towards the Ministry (SPEC §5), shared by every worker process through Redis.
 *
 * GCRA in its virtual-scheduling form: each call atomically reserves the next free slot
 * `max(now, tat, pauseUntil)` and moves `tat` one interval further, then sleeps until its slot. Slots are
 * therefore at least `interval` apart for the whole fleet, so any sliding second holds at most `rps`
 * of them; there is no burst allowance, which is what "spread evenly" asks for. Redis `TIME` is the
 * clock, so hosts with skewed clocks still share one schedule.
 *
 * A 429 sets a fleet-wide pause; new slots start after it, and a caller that reserved a slot before the
 * pause began re-checks when it wakes up (`confirm`) and takes a new slot after the pause.
 */
export class RedisRateLimiter {
  readonly #run: ScriptRunner;
  readonly #tatKey: string;
  readonly #pauseKey: string;
  readonly #now: (() => number) | undefined;
  readonly #sleep: Sleep;
  readonly #intervalMs: number;
  readonly #toleranceMs: number;
  readonly #rps: number;
  /** The furthest schedule this process has seen (see the script's ARGV[4]). */
  #lastTat = 0;

  constructor(options: RateLimiterOptions) {
    const { redis } = options;
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: RATE_LIMITER_LUA });
    const command = (redis as unknown as Record<string, ScriptRunner>)[COMMAND]!;
    this.#run = command.bind(redis);
    this.#tatKey = `${options.prefix}:hes:limiter:tat`;
    this.#pauseKey = `${options.prefix}:hes:limiter:pause`;
    this.#now = options.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#rps = options.rps;
    this.#intervalMs = (1000 + (options.marginMs ?? 0)) / options.rps;
    // Half the margin absorbs a late departure, the other half network jitter. Without a margin
    // there is nothing to absorb lateness with, and the check is off (every slot would be late).
    this.#toleranceMs = options.marginMs ? options.marginMs / 2 : Number.POSITIVE_INFINITY;
  }

  get rps(): number {
    return this.#rps;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * Waits for this process's next slot. `atSlot` runs when the slot comes, in the same round trip as
   * the pause check (the caller's last-moment checks cost no extra latency). Rejects (AbortError) when
   * `signal` aborts while waiting.
   */
  async acquire(signal?: AbortSignal, atSlot?: () => Promise<unknown>): Promise<Reservation> {
    let waitedMs = 0;
    let asked = performance.now();
    let [, wait, now] = await this.#script('reserve', this.#intervalMs);
    for (;;) {
      const waitMs = Number(wait);
      if (waitMs <= 0) {
        // The slot on the local clock, conservatively: Redis read its clock no earlier than we asked.
        const sendBy = asked + this.#toleranceMs;
        await atSlot?.();
        return { slotAt: Number(now), waitedMs, sendBy };
      }
      const slot = Number(now) + waitMs;
      // Sleep to the next whole millisecond: timers may fire early by a fraction of one.
      const sleepMs = Math.ceil(waitMs);
      await this.#sleep(sleepMs, signal);
      waitedMs += sleepMs;
      asked = performance.now();
      const [reply] = await Promise.all([this.#script('confirm', this.#intervalMs), atSlot?.()]);
      if (reply[0] === 'go') {
        return { slotAt: slot, waitedMs, sendBy: asked + (slot - Number(reply[2])) + this.#toleranceMs };
      }
      [, wait, now] = reply;
    }
  }

  /**
   * Whether the caller is about to send too long after its slot. A request that leaves late lands
   * closer to the next process's slot; up to `tolerance` (half the margin) is absorbed by the margin,
   * more could put rps + 1 requests into one sliding second, so such a slot is forfeit and the caller
   * reserves a new one. Checked immediately before sending (event-loop stalls, GC pauses).
   */
  isLate(reservation: Reservation): boolean {
    return performance.now() > reservation.sendBy;
  }

  /** Pauses the whole fleet for `ms` (an upstream 429's Retry-After). */
  async pause(ms: number): Promise<PauseResult> {
    const [state, remaining] = await this.#script('pause', ms);
    return { extended: state === 'extended', remainingMs: Number(remaining) };
  }

  async #script(mode: 'reserve' | 'confirm' | 'pause', arg: number): Promise<ScriptReply> {
    const now = this.#now ? String(this.#now()) : '';
    const reply = await this.#run(
      this.#tatKey,
      this.#pauseKey,
      mode,
      String(arg),
      now,
      String(this.#lastTat),
    );
    if (reply[3] !== undefined) this.#lastTat = Math.max(this.#lastTat, Number(reply[3]));
    return reply;
  }
}

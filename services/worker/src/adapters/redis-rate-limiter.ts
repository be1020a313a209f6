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
  /** The slot's place in the fleet's sequence (how `depart` knows how many were handed out after it). */
  seq: number;
  /** How long the caller slept in total, pauses included. */
  waitedMs: number;
  /** Local monotonic time (performance.now(), or the injected clock) until which leaving counts as on time: see `depart`. */
  sendBy: number;
}

/**
 * How a request left, from `depart`: on time; late, with the fleet's later slots moved by the lateness
 * (`lateMs`); or not at all, because its lateness could no longer be absorbed (reserve a new slot).
 */
export type Departure =
  | { state: 'on-time' }
  | { state: 'late'; lateMs: number }
  | { state: 'forfeit'; lateMs: number };

export interface PauseResult {
  /** True when this call moved the fleet-wide pause further out (false: an existing pause already covered it). */
  extended: boolean;
  remainingMs: number;
}

/** [state, wait or remaining or late ms, the script's clock, the schedule and the sequence number after a reservation]. */
type ScriptReply = [string, string, string, string?, string?];
type ScriptRunner = (
  tatKey: string,
  pauseKey: string,
  seqKey: string,
  mode: string,
  arg: string,
  now: string,
  floor: string,
  interval: string,
  rps: string,
  guard: string,
  seq: string,
  absorb: string,
) => Promise<ScriptReply>;

/**
 * The share of the margin a late departure may use without a word; the rest is for variation in
 * delivery. Lateness beyond it moves the schedule (`depart`), which costs capacity only when it happens:
 * measured on the shared 2-core box, 4–18 of 200 requests per 100 000-code roster, 0.05–0.4 s in all.
 */
const LATENESS_SHARE = 0.25;
/** How long before its slot a caller wakes up for the last-moment checks (one Redis round trip). */
const CONFIRM_LEAD_MS = 10;
/** Added to a reported lateness: the script's answer still has to reach the caller before it sends. */
const DEPART_GUARD_MS = 2;

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
 *
 * The Ministry counts departures, not slots. A quarter of the margin absorbs a late departure
 * (event-loop stall, GC, a busy core), the rest variation in delivery. A request later than that reports it
 * just before sending (`depart`): the script moves every slot not yet handed out by the excess, so the
 * request `rps` places later is still far enough after the real departure, and the stall costs the
 * fleet its length instead of a whole slot. Only when that later slot is already handed out (more
 * callers waiting than `rps`) is the late slot forfeit.
 */
export class RedisRateLimiter {
  readonly #run: ScriptRunner;
  readonly #tatKey: string;
  readonly #pauseKey: string;
  readonly #seqKey: string;
  readonly #now: (() => number) | undefined;
  readonly #sleep: Sleep;
  readonly #intervalMs: number;
  readonly #toleranceMs: number;
  readonly #rps: number;
  /** The furthest schedule this process has seen (see the script's ARGV[4]). */
  #lastTat = 0;

  constructor(options: RateLimiterOptions) {
    const { redis } = options;
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 3, lua: RATE_LIMITER_LUA });
    const command = (redis as unknown as Record<string, ScriptRunner>)[COMMAND]!;
    this.#run = command.bind(redis);
    this.#tatKey = `${options.prefix}:hes:limiter:tat`;
    this.#pauseKey = `${options.prefix}:hes:limiter:pause`;
    this.#seqKey = `${options.prefix}:hes:limiter:seq`;
    this.#now = options.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#rps = options.rps;
    this.#intervalMs = (1000 + (options.marginMs ?? 0)) / options.rps;
    this.#toleranceMs = (options.marginMs ?? 0) * LATENESS_SHARE;
  }

  get rps(): number {
    return this.#rps;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * Waits for this process's next slot. `atSlot` runs just before it (up to CONFIRM_LEAD_MS ahead),
   * alongside the pause check, so the caller's last-moment checks do not make it late. Rejects
   * (AbortError) when `signal` aborts while waiting.
   */
  async acquire(signal?: AbortSignal, atSlot?: () => Promise<unknown>): Promise<Reservation> {
    let waitedMs = 0;
    let asked = this.#local();
    let reply = await this.#script('reserve', this.#intervalMs);
    for (;;) {
      const [, wait, now, , seq] = reply;
      const waitMs = Number(wait);
      if (waitMs <= 0) {
        // The slot on the local clock, conservatively: Redis read its clock no earlier than we asked.
        const sendBy = asked + this.#toleranceMs;
        await atSlot?.();
        return { slotAt: Number(now), seq: Number(seq), waitedMs, sendBy };
      }
      const slot = Number(now) + waitMs;
      // Wake up a little early: the last-moment checks take a round trip, which would otherwise make
      // every request that much late (measured under load: p90 4.7 ms, max 22 ms).
      const sleepMs = Math.max(0, Math.ceil(waitMs) - CONFIRM_LEAD_MS);
      if (sleepMs > 0) await this.#sleep(sleepMs, signal);
      waitedMs += sleepMs;
      asked = this.#local();
      const [confirmed] = await Promise.all([this.#script('confirm', slot), atSlot?.()]);
      if (confirmed[0] === 'go') {
        const toSlot = slot - Number(confirmed[2]);
        // Then the rest, counted from the answer's arrival, so never early.
        if (toSlot > 0) {
          await this.#sleep(Math.ceil(toSlot), signal);
          waitedMs += Math.ceil(toSlot);
        }
        const sendBy = asked + toSlot + this.#toleranceMs;
        return { slotAt: slot, seq: Number(seq), waitedMs, sendBy };
      }
      reply = confirmed;
    }
  }

  /**
   * Called immediately before sending. Within a quarter of the margin of the slot: no round trip.
   * Later: the script moves the fleet's unassigned slots by the excess and the caller sends, or, when the slot
   * `rps` places on is already handed out, answers `forfeit`: the caller must not send (it reserves a
   * new slot). A stall while the answer travels is reported again.
   */
  async depart(reservation: Reservation): Promise<Departure> {
    if (this.#local() <= reservation.sendBy) return { state: 'on-time' };
    // Lateness already absorbed: a second report (a stall while the first answer travelled) only adds
    // what came after it.
    let pushedMs = 0;
    for (;;) {
      const asked = this.#local();
      const [state, late] = await this.#script('late', reservation.slotAt + pushedMs, reservation.seq);
      if (state === 'forfeit') return { state, lateMs: pushedMs + Number(late) };
      if (state === 'late') pushedMs += Number(late);
      if (this.#local() - asked <= DEPART_GUARD_MS) {
        return pushedMs > 0 ? { state: 'late', lateMs: pushedMs } : { state: 'on-time' };
      }
    }
  }

  /** Pauses the whole fleet for `ms` (an upstream 429's Retry-After). */
  async pause(ms: number): Promise<PauseResult> {
    const [state, remaining] = await this.#script('pause', ms);
    return { extended: state === 'extended', remainingMs: Number(remaining) };
  }

  /** This process's monotonic clock; the injected clock when there is one (tests), so both agree. */
  #local(): number {
    return this.#now ? this.#now() : performance.now();
  }

  async #script(
    mode: 'reserve' | 'confirm' | 'pause' | 'late',
    arg: number,
    seq?: number,
  ): Promise<ScriptReply> {
    const now = this.#now ? String(this.#now()) : '';
    const reply = await this.#run(
      this.#tatKey,
      this.#pauseKey,
      this.#seqKey,
      mode,
      String(arg),
      now,
      String(this.#lastTat),
      String(this.#intervalMs),
      String(this.#rps),
      String(DEPART_GUARD_MS),
      String(seq ?? ''),
      String(this.#toleranceMs),
    );
    if (reply[3] !== undefined) this.#lastTat = Math.max(this.#lastTat, Number(reply[3]));
    return reply;
  }
}

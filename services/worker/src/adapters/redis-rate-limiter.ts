import { setTimeout as delay } from 'node:timers/promises';
import type { JobLane } from '@hes/core';
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
 * How a request left, from `depart`: on time; late, recorded so that its lane's next request waits for
 * it (`lateMs` beyond what the margin absorbs); or not at all, because that request is already on its
 * way (reserve a new slot).
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
  lanesKey: string,
  heldKey: string,
  mode: string,
  arg: string,
  now: string,
  floor: string,
  interval: string,
  rps: string,
  guard: string,
  seq: string,
  absorb: string,
  lane: string,
) => Promise<ScriptReply>;

/**
 * The share of the margin a late departure may use without a word; the rest is for variation in
 * delivery. Lateness beyond it is reported (`depart`) and holds back one request a second later
 * (measured on the shared 2-core box: 4–18 of 200 requests per 100 000-code roster were that late).
 */
const LATENESS_SHARE = 0.25;
/** How long before its slot a caller wakes up for the last-moment checks (one Redis round trip). */
const CONFIRM_LEAD_MS = 10;
/** Added to a reported lateness: the script's answer still has to reach the caller before it sends. */
const DEPART_GUARD_MS = 2;
/** The most a slow answer may widen that allowance (see `depart`). */
const MAX_DEPART_GUARD_MS = 250;

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
 * The Ministry counts departures, not slots, in a sliding second. Among any `rps + 1` requests two share
 * a lane (sequence numbers a multiple of `rps` apart), so it is enough that every request leaves at least
 * `rps` intervals minus a quarter of the margin after the request `rps` places before it. On-time
 * departures get that from the slots (a quarter of the margin absorbs a little lateness: event-loop
 * stall, GC, a busy core; the rest is for variation in delivery). A request later than that records its
 * real departure just before sending (`depart`), and the request `rps` places later, when it wakes for
 * its slot (`confirm`), waits as long as that lane needs: one request is held back by the lateness,
 * the rest of the schedule keeps its pace. Only when that later request is already committed to its
 * time (the lateness is about a second) is the late slot forfeit.
 *
 * An `interactive` caller (a check someone waits for) takes the earliest `roster` reservation whose
 * holder has not woken for it yet, sequence number included, so the lanes are unchanged; the holder
 * learns it at `confirm` and reserves again.
 */
export class RedisRateLimiter {
  readonly #run: ScriptRunner;
  readonly #tatKey: string;
  readonly #pauseKey: string;
  readonly #seqKey: string;
  readonly #lanesKey: string;
  readonly #heldKey: string;
  readonly #now: (() => number) | undefined;
  readonly #sleep: Sleep;
  readonly #intervalMs: number;
  readonly #toleranceMs: number;
  readonly #rps: number;
  /** The furthest schedule this process has seen (see the script's ARGV[4]). */
  #lastTat = 0;

  constructor(options: RateLimiterOptions) {
    const { redis } = options;
    if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 5, lua: RATE_LIMITER_LUA });
    const command = (redis as unknown as Record<string, ScriptRunner>)[COMMAND]!;
    this.#run = command.bind(redis);
    this.#tatKey = `${options.prefix}:hes:limiter:tat`;
    this.#pauseKey = `${options.prefix}:hes:limiter:pause`;
    this.#seqKey = `${options.prefix}:hes:limiter:seq`;
    this.#lanesKey = `${options.prefix}:hes:limiter:lanes`;
    this.#heldKey = `${options.prefix}:hes:limiter:held`;
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
   * alongside the pause check, so the caller's last-moment checks do not make it late; a slot due
   * within that lead when reserved is committed by the reservation and needs neither (the caller's
   * checks just before `acquire` are as fresh). Rejects (AbortError) when `signal` aborts while waiting.
   */
  async acquire(
    signal?: AbortSignal,
    atSlot?: () => Promise<unknown>,
    lane: JobLane = 'roster',
  ): Promise<Reservation> {
    let waitedMs = 0;
    let asked = this.#local();
    let reply = await this.#script('reserve', 0, undefined, lane);
    let seq = Number(reply[4]);
    // The slot the last `confirm` was asked about; null while the current reservation is unconfirmed.
    let confirmedSlot: number | null = null;
    for (;;) {
      const waitMs = Number(reply[1]);
      const slot = Number(reply[2]) + Math.max(0, waitMs);
      // Committed: a slot due within the wake-up lead by the reservation itself ('go'), a later one by
      // `confirm`, unless either held it back for its lane by more than the lead (then it sleeps and
      // confirms again).
      const reservedGo = confirmedSlot === null && reply[0] === 'go';
      const committed =
        (reservedGo && waitMs <= CONFIRM_LEAD_MS) ||
        (confirmedSlot !== null && (slot <= confirmedSlot || waitMs <= CONFIRM_LEAD_MS));
      if (committed) {
        // The rest of the way, counted from the answer's arrival, so never early.
        if (waitMs > 0) {
          await this.#sleep(Math.ceil(waitMs), signal);
          waitedMs += Math.ceil(waitMs);
        }
        // The slot on the local clock, conservatively: Redis read its clock no earlier than we asked.
        const sendBy = asked + waitMs + this.#toleranceMs;
        return { slotAt: Number(reply[2]) + waitMs, seq, waitedMs, sendBy };
      }
      // Wake up a little early: the last-moment checks take a round trip, which would otherwise make
      // every request that much late (measured under load: p90 4.7 ms, max 22 ms).
      const sleepMs = Math.max(0, Math.ceil(waitMs) - CONFIRM_LEAD_MS);
      if (sleepMs > 0) await this.#sleep(sleepMs, signal);
      waitedMs += sleepMs;
      asked = this.#local();
      const [confirmed] = await Promise.all([this.#script('confirm', slot, seq, lane), atSlot?.()]);
      if (confirmed[4] === undefined) {
        confirmedSlot = slot;
      } else {
        // A pause began, or an interactive caller took the slot, while this caller slept: a new
        // reservation (it carries its sequence number), checked again at its own slot.
        seq = Number(confirmed[4]);
        confirmedSlot = null;
      }
      reply = confirmed;
    }
  }

  /**
   * Called immediately before sending. Within a quarter of the margin of the slot: no round trip.
   * Later: the script records the real departure, which holds back the request `rps` places later, and
   * the caller sends; or, when that request is already committed to its time, answers `forfeit`: the
   * caller must not send (it reserves a new slot).
   *
   * The script records the departure as its own clock plus an allowance for the answer's way back. An
   * answer slower than that means the request leaves later than recorded, so it is recorded again, with
   * an allowance of twice the round trip just seen: on a saturated box every round trip can outlast a
   * fixed allowance, and re-asking with the same one spun thousands of calls a second (measured).
   */
  async depart(reservation: Reservation): Promise<Departure> {
    if (this.#local() <= reservation.sendBy) return { state: 'on-time' };
    let guardMs = DEPART_GUARD_MS;
    for (;;) {
      const asked = this.#local();
      const [state, late] = await this.#script(
        'late',
        reservation.slotAt,
        reservation.seq,
        'roster',
        guardMs,
      );
      if (state === 'forfeit') return { state, lateMs: Number(late) };
      const tookMs = this.#local() - asked;
      if (tookMs <= guardMs) {
        return state === 'late' ? { state, lateMs: Number(late) } : { state: 'on-time' };
      }
      guardMs = Math.min(MAX_DEPART_GUARD_MS, Math.max(guardMs, Math.ceil(2 * tookMs)));
    }
  }

  /**
   * Called as soon as the request is on its socket (the caller does not wait for it): records how long
   * after its slot the request really left, so the request `rps` places later leaves a full `rps`
   * intervals after it. Without this record the lane assumes the request left at its slot, and up to
   * a quarter of the margin (the lateness `depart` lets pass without a round trip) plus any stall
   * between `depart` and the socket write comes off the margin meant for delivery jitter (measured on
   * the 2-core box: up to 21 ms of the 40). The lateness is counted from the slot as seen on the local
   * clock, which is never later than the real one, so the record is never early. Never rejects: a
   * record that is lost leaves the lane as it was without it.
   */
  async sent(reservation: Reservation): Promise<number> {
    const lateMs = Math.max(0, this.#local() - (reservation.sendBy - this.#toleranceMs));
    await this.#script('sent', reservation.slotAt, reservation.seq, 'roster', lateMs).catch(() => undefined);
    return lateMs;
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
    mode: 'reserve' | 'confirm' | 'pause' | 'late' | 'sent',
    arg: number,
    seq?: number,
    lane: JobLane = 'roster',
    /** ARGV[7]: the allowance for the answer's way back (late), the measured lateness (sent). */
    guardMs = DEPART_GUARD_MS,
  ): Promise<ScriptReply> {
    const now = this.#now ? String(this.#now()) : '';
    const reply = await this.#run(
      this.#tatKey,
      this.#pauseKey,
      this.#seqKey,
      this.#lanesKey,
      this.#heldKey,
      mode,
      String(arg),
      now,
      String(this.#lastTat),
      String(this.#intervalMs),
      String(this.#rps),
      String(guardMs),
      String(seq ?? ''),
      String(this.#toleranceMs),
      lane,
    );
    if (reply[3] !== undefined) this.#lastTat = Math.max(this.#lastTat, Number(reply[3]));
    return reply;
  }
}

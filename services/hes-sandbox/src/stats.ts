import type { SandboxOutcome } from './dataset.js';
import { SlidingWindow } from './sliding-window.js';

/**
 * What the sandbox served, for tests and benchmarks (GET /__sandbox/stats). Peaks are exact: computed
 * from arrival timestamps on a monotonic clock, over sliding windows, not calendar seconds.
 */
export const SANDBOX_ENDPOINTS = [
  'check-hes-code',
  'check-employee-hes-code',
  'check-visitor-hes-code',
  'check-hes-code-plus',
  'check-hes-codes',
  'check-hes-codes-plus',
] as const;
export type SandboxEndpoint = (typeof SANDBOX_ENDPOINTS)[number];

/** NOT_FOUND etc. as served; INVALID = malformed codes (answered as hescodenotfound). */
export type CodeOutcome = SandboxOutcome | 'INVALID';
const CODE_OUTCOMES: readonly CodeOutcome[] = ['RISKLESS', 'RISKY', 'NOT_FOUND', 'EXPIRED', 'INVALID'];

export const BULK_SIZES_KEPT = 10_000;
export const DEFAULT_ARRIVAL_HISTORY = 100_000;

export interface SandboxStatsSnapshot {
  /** Every request to a Ministry path (unknown paths included, admin endpoints excluded). */
  totalRequests: number;
  /** Authorised and not throttled. */
  acceptedRequests: number;
  byEndpoint: Record<SandboxEndpoint, number>;
  byStatus: Record<string, number>;
  authFailures: number;
  rateLimited: number;
  serverErrors: number;
  resets: number;
  codesByOutcome: Record<CodeOutcome, number>;
  bulk: { calls: number; codes: number; maxCodes: number; sizes: number[] };
  /** Most accepted requests that arrived within any 1000 ms. */
  peakRps: number;
  /** Most requests of any kind (401s and 429s included) that arrived within any 1000 ms. */
  peakRpsAllArrivals: number;
  firstRequestAt: string | null;
  lastRequestAt: string | null;
}

/** The last `capacity` arrival times, oldest first, for maxInWindow over arbitrary window lengths. */
class ArrivalRing {
  readonly #times: Float64Array;
  #next = 0;
  #count = 0;

  constructor(readonly capacity: number) {
    this.#times = new Float64Array(capacity);
  }

  push(t: number): void {
    this.#times[this.#next] = t;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#count < this.capacity) this.#count++;
  }

  /** The i-th oldest kept time. */
  #at(i: number): number {
    return this.#times[(this.#next - this.#count + this.capacity + i) % this.capacity]!;
  }

  /** Most times within any window of `ms` (two times share a window when they differ by less than ms). */
  maxInWindow(ms: number): number {
    let best = 0;
    let lo = 0;
    for (let hi = 0; hi < this.#count; hi++) {
      while (this.#at(hi) - this.#at(lo) >= ms) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
  }

  /**
   * The shortest time spanned by `n` + 1 consecutive arrivals (null when fewer arrived). With a limit of
   * n per second it must stay at or above 1000 ms; how far above is the client's headroom for jitter.
   */
  tightestSpan(n: number): number | null {
    if (n < 1 || this.#count <= n) return null;
    let best = Number.POSITIVE_INFINITY;
    for (let i = n; i < this.#count; i++) best = Math.min(best, this.#at(i) - this.#at(i - n));
    return best;
  }

  /** The kept times, oldest first. */
  times(): number[] {
    return Array.from({ length: this.#count }, (_, i) => this.#at(i));
  }

  clear(): void {
    this.#next = 0;
    this.#count = 0;
  }
}

export interface SandboxStatsOptions {
  /** How many arrival times maxInWindow looks back over (per kind). */
  arrivalHistory?: number;
  /** Wall clock for firstRequestAt/lastRequestAt. */
  wallClock?: () => Date;
}

export class SandboxStats {
  readonly #wallClock: () => Date;
  readonly #all: ArrivalRing;
  readonly #accepted: ArrivalRing;
  readonly #allSecond = new SlidingWindow(1000);
  readonly #acceptedSecond = new SlidingWindow(1000);
  #s: SandboxStatsSnapshot = SandboxStats.#empty();

  constructor(options: SandboxStatsOptions = {}) {
    this.#wallClock = options.wallClock ?? (() => new Date());
    const history = options.arrivalHistory ?? DEFAULT_ARRIVAL_HISTORY;
    this.#all = new ArrivalRing(history);
    this.#accepted = new ArrivalRing(history);
  }

  static #empty(): SandboxStatsSnapshot {
    return {
      totalRequests: 0,
      acceptedRequests: 0,
      byEndpoint: Object.fromEntries(SANDBOX_ENDPOINTS.map((e) => [e, 0])) as Record<SandboxEndpoint, number>,
      byStatus: {},
      authFailures: 0,
      rateLimited: 0,
      serverErrors: 0,
      resets: 0,
      codesByOutcome: Object.fromEntries(CODE_OUTCOMES.map((o) => [o, 0])) as Record<CodeOutcome, number>,
      bulk: { calls: 0, codes: 0, maxCodes: 0, sizes: [] },
      peakRps: 0,
      peakRpsAllArrivals: 0,
      firstRequestAt: null,
      lastRequestAt: null,
    };
  }

  /** A request arrived at monotonic time `t` (ms). */
  recordArrival(t: number): void {
    const s = this.#s;
    s.totalRequests++;
    const wall = this.#wallClock().toISOString();
    s.firstRequestAt ??= wall;
    s.lastRequestAt = wall;
    this.#all.push(t);
    s.peakRpsAllArrivals = Math.max(s.peakRpsAllArrivals, this.#allSecond.push(t));
  }

  /** The request that arrived at `t` passed authentication and the rate limit. */
  recordAccepted(t: number): void {
    this.#s.acceptedRequests++;
    this.#accepted.push(t);
    this.#s.peakRps = Math.max(this.#s.peakRps, this.#acceptedSecond.push(t));
  }

  recordEndpoint(endpoint: SandboxEndpoint): void {
    this.#s.byEndpoint[endpoint]++;
  }

  recordStatus(status: number): void {
    const s = this.#s;
    s.byStatus[status] = (s.byStatus[status] ?? 0) + 1;
    if (status === 429) s.rateLimited++;
    if (status >= 500) s.serverErrors++;
  }

  recordAuthFailure(): void {
    this.#s.authFailures++;
  }

  recordReset(): void {
    this.#s.resets++;
  }

  recordCodes(outcome: CodeOutcome, count = 1): void {
    this.#s.codesByOutcome[outcome] += count;
  }

  /** Codes in one bulk call as received (over-limit calls too, so a client's batching is visible). */
  recordBulkSize(size: number): void {
    const bulk = this.#s.bulk;
    bulk.calls++;
    bulk.codes += size;
    bulk.maxCodes = Math.max(bulk.maxCodes, size);
    bulk.sizes.push(size);
    if (bulk.sizes.length > BULK_SIZES_KEPT * 2) bulk.sizes = bulk.sizes.slice(-BULK_SIZES_KEPT);
  }

  /** Most arrivals within any window of `ms`, over the last `arrivalHistory` arrivals of that kind. */
  maxInWindow(ms: number, kind: 'all' | 'accepted' = 'all'): number {
    return (kind === 'all' ? this.#all : this.#accepted).maxInWindow(ms);
  }

  /** Shortest span of `n` + 1 consecutive arrivals of that kind (see ArrivalRing.tightestSpan). */
  tightestSpan(n: number, kind: 'all' | 'accepted' = 'all'): number | null {
    return (kind === 'all' ? this.#all : this.#accepted).tightestSpan(n);
  }

  /** Arrival times (monotonic ms, oldest first) of the last `arrivalHistory` arrivals of that kind. */
  arrivalTimes(kind: 'all' | 'accepted' = 'all'): number[] {
    return (kind === 'all' ? this.#all : this.#accepted).times();
  }

  snapshot(): SandboxStatsSnapshot {
    const s = this.#s;
    return structuredClone({ ...s, bulk: { ...s.bulk, sizes: s.bulk.sizes.slice(-BULK_SIZES_KEPT) } });
  }

  reset(): void {
    this.#s = SandboxStats.#empty();
    this.#all.clear();
    this.#accepted.clear();
    this.#allSecond.clear();
    this.#acceptedSecond.clear();
  }
}

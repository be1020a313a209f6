import { MAX_BULK_CODES } from '@hes/client';
import type { JobLane } from '@hes/core';
import type { BulkEntry, Endpoint, HesApi, HesCodePlusResult, HesCodeResult } from './hes-api.js';
import type { CallOutcome, CallSignals, UpstreamCaller } from './upstream-caller.js';

/** The kinds whose single checks have a bulk endpoint (SPEC §3); `employee` and `visitor` have none. */
export type SharedKind = 'standard' | 'plus';

type Result<K extends SharedKind> = K extends 'plus' ? HesCodePlusResult : HesCodeResult;

const ENDPOINTS = {
  standard: { one: 'check-hes-code', many: 'check-hes-codes' },
  plus: { one: 'check-hes-code-plus', many: 'check-hes-codes-plus' },
} as const satisfies Record<SharedKind, { one: Endpoint; many: Endpoint }>;

/** A single call's answer (a ride of one) or the bulk answer's entries by code. */
type RideAnswer =
  | HesCodeResult
  | HesCodePlusResult
  | Map<string, BulkEntry<HesCodeResult | HesCodePlusResult>>;

/** One upstream request being prepared: the codes that joined it before its slot came. */
interface Ride {
  readonly codes: Set<string>;
  readonly outcome: Promise<CallOutcome<RideAnswer>>;
}

/**
 * Single checks of kind `standard` or `plus` that want the Ministry at the same time share one request.
 * The first of them reserves a rate-limit slot; every check of its kind and lane that asks before the
 * slot comes joins, and the slot carries them all in one bulk call (up to 500 codes). One alone still
 * goes to the single endpoint, as before. So a crowd at the doors costs the Ministry's limit one request
 * per slot instead of one per person, and the crowd's last check leaves with its first.
 *
 * Each check gets the outcome a single call would have given it: its own entry (a code missing from both
 * maps is a transient failure, retried by its own job), or the whole call's failure.
 */
export class SharedBulkCalls {
  readonly #caller: UpstreamCaller;
  readonly #api: HesApi;
  /** The ride still taking codes, per kind and lane. */
  readonly #open = new Map<string, Ride>();

  constructor(caller: UpstreamCaller, api: HesApi) {
    this.#caller = caller;
    this.#api = api;
  }

  async check<K extends SharedKind>(
    kind: K,
    code: string,
    lane: JobLane,
    signals: CallSignals,
  ): Promise<CallOutcome<Result<K>>> {
    const key = `${kind}:${lane}`;
    let ride = this.#open.get(key);
    if (!ride || ride.codes.size >= MAX_BULK_CODES) ride = this.#start(kind, key, lane, signals);
    ride.codes.add(code);
    const outcome = await ride.outcome;
    if (outcome.type !== 'ok') {
      // A whole bulk call refused with a 400 is not an answer about any one of its codes.
      if (outcome.type === 'business' && ride.codes.size > 1) {
        return { type: 'business', reason: 'UNKNOWN', errorKey: outcome.errorKey };
      }
      return outcome;
    }
    if (!(outcome.value instanceof Map)) return { type: 'ok', value: outcome.value as Result<K> };
    const entry = outcome.value.get(code);
    if (!entry || (!entry.ok && entry.reason === 'MISSING')) {
      return { type: 'transient', errorClass: 'HesCodeMissingFromBulkAnswer' };
    }
    if (!entry.ok) return { type: 'business', reason: entry.reason, errorKey: entry.errorKey };
    return { type: 'ok', value: entry.result as Result<K> };
  }

  #start(kind: SharedKind, key: string, lane: JobLane, signals: CallSignals): Ride {
    const codes = new Set<string>();
    const { one, many } = ENDPOINTS[kind];
    const close = () => {
      if (this.#open.get(key) === ride) this.#open.delete(key);
    };
    const send = (signal: AbortSignal): Promise<RideAnswer> => {
      // The slot is here: later checks start the next ride. A retry after a 429 sends the same codes.
      close();
      const list = [...codes];
      if (list.length === 1) {
        const [code] = list as [string];
        return kind === 'plus'
          ? this.#api.checkHesCodePlus(code, { signal })
          : this.#api.checkHesCode(code, { signal });
      }
      const entries =
        kind === 'plus'
          ? this.#api.checkHesCodesPlus(list, { signal })
          : this.#api.checkHesCodes(list, { signal });
      return entries.then((answer) => new Map(answer.map((e) => [e.code, e])));
    };
    // Endpoint and size are read when the slot comes: by then everyone who joins has joined.
    const endpoint = () => (codes.size > 1 ? many : one);
    const ride: Ride = {
      codes,
      outcome: this.#caller.call(endpoint, () => codes.size, send, signals, lane).finally(close),
    };
    this.#open.set(key, ride);
    return ride;
  }
}

import {
  assertBulkSize,
  type BulkOutcome,
  bulkRequestBody,
  chunk,
  entriesFor,
  parseBulkBody,
  prepareCodes,
} from './bulk.js';
import { DEFAULTS, HES_ENDPOINTS, type HesEndpoint, MAX_BULK_CODES } from './constants.js';
import { HesAbortedError, HesConnectionError, HesInvalidArgumentError } from './errors.js';
import { normalizeHesCode } from './hes-code.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { parseCheckResult, parsePlusResult } from './parse.js';
import { interpret } from './responses.js';
import { postJson } from './transport.js';
import type {
  BulkEntry,
  CallOptions,
  HesClientOptions,
  HesCodePlusResult,
  HesCodeResult,
  ManyCallOptions,
  VisitLocation,
} from './types.js';

/**
 * The Ministry of Health's G2G HES API. Every method sends at most one request per 500 codes, never
 * retries, and rejects only with a HesError whose `code`/`category` says what to do next.
 */
export class HesClient {
  readonly #options: ResolvedOptions;
  #closing: Promise<void> | null = null;

  constructor(options: HesClientOptions) {
    this.#options = resolveOptions(options);
  }

  async checkHesCode(code: string, o: CallOptions = {}): Promise<HesCodeResult> {
    return this.#single(HES_ENDPOINTS.checkHesCode, { hes_code: requireCode(code) }, parseCheckResult, o);
  }

  async checkEmployeeHesCode(code: string, o: CallOptions = {}): Promise<HesCodeResult> {
    return this.#single(
      HES_ENDPOINTS.checkEmployeeHesCode,
      { hes_code: requireCode(code) },
      parseCheckResult,
      o,
    );
  }

  async checkVisitorHesCode(code: string, visit: VisitLocation, o: CallOptions = {}): Promise<HesCodeResult> {
    const hesCode = requireCode(code);
    return this.#single(HES_ENDPOINTS.checkVisitorHesCode, visitorBody(hesCode, visit), parseCheckResult, o);
  }

  async checkHesCodePlus(code: string, o: CallOptions = {}): Promise<HesCodePlusResult> {
    return this.#single(HES_ENDPOINTS.checkHesCodePlus, { hes_code: requireCode(code) }, parsePlusResult, o);
  }

  /** One call of at most 500 distinct codes; one entry per input code, in input order. */
  async checkHesCodes(codes: string[], o: CallOptions = {}): Promise<BulkEntry<HesCodeResult>[]> {
    return this.#bulkOnce(HES_ENDPOINTS.checkHesCodes, codes, parseCheckResult, o);
  }

  async checkHesCodesPlus(codes: string[], o: CallOptions = {}): Promise<BulkEntry<HesCodePlusResult>[]> {
    return this.#bulkOnce(HES_ENDPOINTS.checkHesCodesPlus, codes, parsePlusResult, o);
  }

  /**
   * Any number of codes in bulk calls of at most 500 distinct codes (1 234 → 500 + 500 + 234). A code
   * repeated in the input is sent once. If one call fails, the calls still in flight are aborted and
   * the first failure is thrown: entries are all-or-nothing.
   */
  checkManyHesCodes(
    codes: string[],
    o: CallOptions & { plus: true; concurrency?: number },
  ): Promise<BulkEntry<HesCodePlusResult>[]>;
  checkManyHesCodes(
    codes: string[],
    o?: ManyCallOptions,
  ): Promise<BulkEntry<HesCodeResult | HesCodePlusResult>[]>;
  async checkManyHesCodes(
    codes: string[],
    o: ManyCallOptions = {},
  ): Promise<BulkEntry<HesCodeResult | HesCodePlusResult>[]> {
    const { normalized, unique } = prepareCodes(codes);
    const concurrency = o.concurrency ?? DEFAULTS.manyConcurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new HesInvalidArgumentError('concurrency must be a positive integer');
    }
    const endpoint = o.plus ? HES_ENDPOINTS.checkHesCodesPlus : HES_ENDPOINTS.checkHesCodes;
    const parseEntry = o.plus ? parsePlusResult : parseCheckResult;
    this.#assertOpen(endpoint);
    if (o.signal?.aborted) throw abortedFor(endpoint, o.signal);
    if (unique.length === 0) return [];

    const merged = new Map<string, BulkOutcome<HesCodeResult | HesCodePlusResult>>();
    const batches = chunk(unique, MAX_BULK_CODES);
    // Our own controller, so that the first failure stops the sibling calls; it follows the caller's.
    const controller = new AbortController();
    const follow = (): void => controller.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', follow, { once: true });
    const state: { next: number; failure: { error: unknown } | null } = { next: 0, failure: null };
    const lane = async (): Promise<void> => {
      while (state.failure === null && state.next < batches.length) {
        const batch = batches[state.next++]!;
        try {
          const outcomes = await this.#bulkCall(endpoint, batch, parseEntry, controller.signal);
          for (const [code, outcome] of outcomes) merged.set(code, outcome);
        } catch (error) {
          // The first failure wins; the caller's abort outranks the sibling aborts it causes.
          state.failure ??= { error: o.signal?.aborted ? abortedFor(endpoint, o.signal) : error };
          controller.abort();
          return;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, lane));
    } finally {
      o.signal?.removeEventListener('abort', follow);
    }
    if (state.failure !== null) throw state.failure.error;
    return entriesFor(normalized, merged);
  }

  /**
   * Closes the dispatcher the client created, after in-flight requests finish. A dispatcher passed in
   * options belongs to the caller and is left open. Calls after close() reject with HesConnectionError.
   */
  close(): Promise<void> {
    this.#closing ??= this.#options.ownsDispatcher ? this.#options.dispatcher.close() : Promise.resolve();
    return this.#closing;
  }

  async #single<T>(
    endpoint: HesEndpoint,
    payload: unknown,
    parse: (body: unknown) => T,
    o: CallOptions,
  ): Promise<T> {
    this.#assertOpen(endpoint);
    const response = await postJson(this.#options, endpoint, payload, o.signal);
    return interpret(endpoint, response, 'single', parse);
  }

  async #bulkOnce<T>(
    endpoint: HesEndpoint,
    codes: string[],
    parseEntry: (value: unknown) => T,
    o: CallOptions,
  ): Promise<BulkEntry<T>[]> {
    const { normalized, unique } = prepareCodes(codes);
    assertBulkSize(unique);
    this.#assertOpen(endpoint);
    if (unique.length === 0) return [];
    return entriesFor(normalized, await this.#bulkCall(endpoint, unique, parseEntry, o.signal));
  }

  async #bulkCall<T>(
    endpoint: HesEndpoint,
    unique: readonly string[],
    parseEntry: (value: unknown) => T,
    signal: AbortSignal | undefined,
  ): Promise<Map<string, BulkOutcome<T>>> {
    const response = await postJson(this.#options, endpoint, bulkRequestBody(unique), signal);
    const requested = new Set(unique);
    return interpret(endpoint, response, 'bulk', (body) => parseBulkBody(body, requested, parseEntry));
  }

  #assertOpen(endpoint: HesEndpoint): void {
    if (this.#closing !== null)
      throw new HesConnectionError(`${endpoint}: the client is closed`, { endpoint });
  }
}

const abortedFor = (endpoint: HesEndpoint, signal: AbortSignal): HesAbortedError =>
  new HesAbortedError(`${endpoint}: aborted by the caller`, { endpoint, cause: signal.reason });

function requireCode(code: string): string {
  const result = normalizeHesCode(code);
  if (!result.ok) throw new HesInvalidArgumentError(`invalid HES code: ${result.message}`);
  return result.code;
}

function visitorBody(hesCode: string, visit: VisitLocation): unknown {
  if (typeof visit !== 'object' || visit === null)
    throw new HesInvalidArgumentError('visit location is required');
  const text = (name: 'city' | 'district' | 'address'): string => {
    const value = visit[name];
    if (typeof value !== 'string' || value.trim() === '') {
      throw new HesInvalidArgumentError(`visit.${name} must be a non-empty string`);
    }
    return value.trim();
  };
  const coordinate = (name: 'latitude' | 'longitude', limit: number): number | null => {
    const value = visit[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > limit) {
      throw new HesInvalidArgumentError(`visit.${name} must be a number between -${limit} and ${limit}`);
    }
    return value;
  };
  return {
    hes_code: hesCode,
    city: text('city'),
    district: text('district'),
    explicit_address: text('address'),
    location: { latitude: coordinate('latitude', 90), longitude: coordinate('longitude', 180) },
  };
}

import { MAX_BULK_CODES } from './constants.js';
import { HesInvalidArgumentError } from './errors.js';
import { isHesCode, normalizeHesCode } from './hes-code.js';
import { businessReasonOf, isJsonObject, ShapeError } from './parse.js';
import type { BulkEntry, BusinessReason } from './types.js';

/** What a bulk answer says about one code; absent from the map = the Ministry said nothing (MISSING). */
export type BulkOutcome<T> =
  | { ok: true; result: T }
  | { ok: false; reason: BusinessReason; errorKey: string | null };

export interface PreparedCodes {
  /** The normalised form of every input code, in input order (duplicates kept). */
  normalized: string[];
  /** Each distinct code once, in order of first appearance: what goes on the wire. */
  unique: string[];
}

/** Normalises every input code; one malformed code rejects the call before any request is sent. */
export function prepareCodes(codes: unknown): PreparedCodes {
  if (!Array.isArray(codes)) throw new HesInvalidArgumentError('codes must be an array of HES codes');
  const normalized = codes.map((input: unknown, index) => {
    const result = normalizeHesCode(input);
    if (!result.ok) {
      throw new HesInvalidArgumentError(`invalid HES code at index ${index}: ${result.message}`);
    }
    return result.code;
  });
  return { normalized, unique: [...new Set(normalized)] };
}

export function assertBulkSize(unique: readonly string[]): void {
  if (unique.length > MAX_BULK_CODES) {
    throw new HesInvalidArgumentError(
      `at most ${MAX_BULK_CODES} distinct HES codes per bulk call; got ${unique.length} (use checkManyHesCodes)`,
    );
  }
}

export const bulkRequestBody = (unique: readonly string[]): { hes_code: string }[] =>
  unique.map((code) => ({ hes_code: code }));

/**
 * `{"success_map": {CODE: {…}}, "unsuccess_map": {CODE: "hescodenotfound"}}` → outcome per normalised
 * code. Keys are normalised because the Ministry has been seen to key by the code as typed (case,
 * dashes). Keys for codes we did not ask about are ignored. A missing map is an empty one, but an
 * answer with neither map is not a bulk answer.
 */
export function parseBulkBody<T>(
  body: unknown,
  requested: ReadonlySet<string>,
  parseEntry: (value: unknown) => T,
): Map<string, BulkOutcome<T>> {
  if (!isJsonObject(body)) throw new ShapeError('expected a JSON object with success_map/unsuccess_map');
  const success = optionalMap(body, 'success_map');
  const unsuccess = optionalMap(body, 'unsuccess_map');
  if (success === null && unsuccess === null) {
    throw new ShapeError('neither success_map nor unsuccess_map in the answer');
  }
  const outcomes = new Map<string, BulkOutcome<T>>();
  for (const [key, value] of Object.entries(unsuccess ?? {})) {
    const code = keyOf(key);
    if (code === null || !requested.has(code)) continue;
    const errorKey = errorKeyValue(value);
    outcomes.set(code, { ok: false, reason: businessReasonOf(errorKey), errorKey });
  }
  // A success wins over an unsuccess for the same code: the Ministry did find it.
  for (const [key, value] of Object.entries(success ?? {})) {
    const code = keyOf(key);
    if (code === null || !requested.has(code)) continue;
    outcomes.set(code, { ok: true, result: parseEntry(value) });
  }
  return outcomes;
}

function optionalMap(body: Record<string, unknown>, name: string): Record<string, unknown> | null {
  const value = body[name];
  if (value === undefined || value === null) return null;
  if (!isJsonObject(value)) throw new ShapeError(`${name} is not a JSON object`);
  return value;
}

/**
 * Case and dashes (and blanks) do not matter in a key; anything else does: a key that is not a code
 * once they are dropped cannot belong to a requested code and is ignored.
 */
function keyOf(key: string): string | null {
  const code = key.replace(/[\s-]+/g, '').toUpperCase();
  return isHesCode(code) ? code : null;
}

/** `"hescodenotfound"`, or liberally `{"errorKey": "hescodenotfound"}`. */
function errorKeyValue(value: unknown): string | null {
  const raw = isJsonObject(value) ? value.errorKey : value;
  if (typeof raw !== 'string' || raw.trim() === '') return null;
  return raw.trim();
}

/** One entry per input code, in input order; a code the Ministry did not mention is MISSING. */
export function entriesFor<T>(
  normalized: readonly string[],
  outcomes: ReadonlyMap<string, BulkOutcome<T>>,
): BulkEntry<T>[] {
  return normalized.map((code): BulkEntry<T> => {
    const outcome = outcomes.get(code);
    if (outcome === undefined) return { code, ok: false, reason: 'MISSING', errorKey: null };
    return outcome.ok
      ? { code, ok: true, result: outcome.result }
      : { code, ok: false, reason: outcome.reason, errorKey: outcome.errorKey };
  });
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

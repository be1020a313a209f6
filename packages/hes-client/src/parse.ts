import { parseHesDate } from './dates.js';
import { redactHesCodes } from './redact.js';
import type { BusinessReason, HealthStatus, HesCodePlusResult, HesCodeResult, HesPlusData } from './types.js';

/**
 * Response parsing: liberal in what it accepts (the quirks of SPEC §3), strict in what it returns.
 * A body we cannot use throws ShapeError, which the client turns into a HesProtocolError carrying the
 * status and a redacted excerpt.
 */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export type JsonObject = Record<string, unknown>;

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses a response body. The SyntaxError is not kept: V8 quotes the body in it. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ShapeError('the body is not JSON');
  }
}

/** A short, quoted, redacted view of an unexpected value for a message. */
const describe = (value: unknown): string => {
  const json = redactHesCodes(JSON.stringify(value) ?? String(value));
  return json.length > 24 ? `${json.slice(0, 23)}…` : json;
};

export function parseHealthStatus(value: unknown): HealthStatus {
  const status = typeof value === 'string' ? value.trim().toUpperCase() : null;
  if (status === 'RISKLESS' || status === 'RISKY') return status;
  throw new ShapeError(`unexpected current_health_status ${describe(value)}`);
}

/** Masked names and numbers: trailing blanks removed, empty → null, anything but a string → null. */
export function parseMasked(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/** JSON booleans or the strings "true"/"false"/"null" (any case, blanks trimmed); anything else → null. */
export function parseWireBoolean(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return null;
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : null;
}

export function parseCheckResult(value: unknown): HesCodeResult {
  if (!isJsonObject(value)) throw new ShapeError(`expected a JSON object, got ${describe(value)}`);
  return {
    healthStatus: parseHealthStatus(value.current_health_status),
    expiresAt: parseHesDate(value.expiration_date),
    maskedIdentityNumber: parseMasked(value.masked_identity_number),
    maskedFirstName: parseMasked(value.masked_firstname),
    maskedLastName: parseMasked(value.masked_lastname),
  };
}

export function parsePlusData(value: JsonObject): HesPlusData {
  return {
    vaccinated: parseWireBoolean(value.is_vaccinated),
    immune: parseWireBoolean(value.is_immune),
    testDataShared: parseWireBoolean(value.is_test_data_shared),
    // The string "null" is not a timestamp, so it reads as null like any unreadable date.
    lastNegativeTestAt: parseHesDate(value.last_negative_test_date),
  };
}

export function parsePlusResult(value: unknown): HesCodePlusResult {
  const base = parseCheckResult(value);
  return { ...base, plus: parsePlusData(value as JsonObject) };
}

/** The Ministry's business error keys, compared without regard to case or surrounding blanks. */
export function businessReasonOf(errorKey: string | null): BusinessReason {
  switch (errorKey?.trim().toLowerCase()) {
    case 'hescodenotfound':
      return 'NOT_FOUND';
    case 'hescodehasbeenexpired':
      return 'EXPIRED';
    default:
      return 'UNKNOWN';
  }
}

/** `errorKey` of a JSON error body, or null when the body is not JSON or has none. */
export function errorKeyOf(text: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isJsonObject(body) || typeof body.errorKey !== 'string') return null;
  const key = body.errorKey.trim();
  return key === '' ? null : key;
}

/**
 * Request-shape checks for the Ministry endpoints. A shape problem is a 400 `validation.error` naming
 * the field; a well-formed request for a bad code is a business error (`hescodenotfound`) instead.
 */
export type BodyCheck<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

export type JsonObject = Record<string, unknown>;

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `application/json`, or a `+json` type, with any parameters. */
export const isJsonContentType = (header: string | undefined): boolean =>
  header !== undefined && /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(header);

export function singleCodeBody(body: unknown): BodyCheck<string> {
  if (!isJsonObject(body)) return { ok: false, field: 'body', message: 'must be a JSON object' };
  if (typeof body.hes_code !== 'string') return { ok: false, field: 'hes_code', message: 'must be a string' };
  return { ok: true, value: body.hes_code };
}

const isBlank = (value: unknown): boolean => typeof value !== 'string' || value.trim() === '';

function coordinate(value: unknown, limit: number): boolean {
  if (value === undefined || value === null) return true;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) && Math.abs(n) <= limit;
}

/**
 * check-visitor-hes-code: city, district and explicit_address are required and not blank; location is
 * optional, its coordinates numbers (or numeric strings) in range when given.
 */
export function visitorBody(body: unknown): BodyCheck<string> {
  const code = singleCodeBody(body);
  if (!code.ok || !isJsonObject(body)) return code;
  for (const field of ['city', 'district', 'explicit_address'] as const) {
    if (isBlank(body[field])) return { ok: false, field, message: 'must not be blank' };
  }
  const location = body.location;
  if (location !== undefined && location !== null) {
    if (!isJsonObject(location)) return { ok: false, field: 'location', message: 'must be an object' };
    if (!coordinate(location.latitude, 90)) {
      return { ok: false, field: 'location.latitude', message: 'must be a number between -90 and 90' };
    }
    if (!coordinate(location.longitude, 180)) {
      return { ok: false, field: 'location.longitude', message: 'must be a number between -180 and 180' };
    }
  }
  return code;
}

/** check-hes-codes(-plus): a JSON array of `{"hes_code": "…"}`. The size limit is checked by the caller. */
export function bulkBody(body: unknown): BodyCheck<unknown[]> {
  if (!Array.isArray(body))
    return { ok: false, field: 'body', message: 'must be a JSON array of {"hes_code": "…"}' };
  return { ok: true, value: body };
}

export function bulkCodes(items: unknown[]): BodyCheck<string[]> {
  const codes: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isJsonObject(item) || typeof item.hes_code !== 'string') {
      return { ok: false, field: `[${i}].hes_code`, message: 'must be a string' };
    }
    codes.push(item.hes_code);
  }
  return { ok: true, value: codes };
}

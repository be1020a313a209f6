/**
 * `Retry-After` (RFC 9110 §10.2.3) in milliseconds from `now`: delta-seconds (`3`) or an HTTP-date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`). A date in the past gives 0. Missing or unreadable → null, and
 * the caller falls back to its own backoff. A repeated header uses its first value.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  if (text === '') return null;
  // Delta-seconds are integers; a fraction is tolerated and rounded up so we never come back early.
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    const ms = Math.ceil(Number(text) * 1000);
    return Number.isFinite(ms) ? ms : null;
  }
  // Only something that looks like a date goes to Date.parse, which accepts surprising inputs.
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

import type { HesEndpoint } from './constants.js';
import {
  HesBusinessError,
  HesCredentialsError,
  type HesError,
  type HesErrorDetails,
  HesProtocolError,
  HesServerError,
  HesThrottledError,
  HesTimeoutError,
} from './errors.js';
import { businessReasonOf, errorKeyOf, parseJsonBody, ShapeError } from './parse.js';
import { redactHesCodes } from './redact.js';
import { parseRetryAfter } from './retry-after.js';
import type { HesHttpResponse } from './transport.js';

export type CallShape = 'single' | 'bulk';

/**
 * What an HTTP answer means, decided in this one place (SPEC §3):
 *
 * - 2xx → the body is parsed; a body we cannot use is a HesProtocolError.
 * - 400 on a single call with a JSON `errorKey` → HesBusinessError (a final answer about the code).
 *   A 400 without one, or any 400 on a bulk call (whose business answers travel in `unsuccess_map`),
 *   means our request was rejected → HesProtocolError.
 * - 401/403 → HesCredentialsError; 429 → HesThrottledError with Retry-After; 408 → HesTimeoutError;
 *   5xx → HesServerError; anything else (3xx, 404, 405, 413, …) → HesProtocolError.
 */
export function interpret<T>(
  endpoint: HesEndpoint,
  response: HesHttpResponse,
  shape: CallShape,
  parse: (body: unknown) => T,
): T {
  if (response.status < 200 || response.status > 299) throw failureOf(endpoint, response, shape);
  try {
    return parse(parseJsonBody(response.text));
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw new HesProtocolError(
      `${endpoint}: unusable HTTP ${response.status} answer: ${error.message}`,
      detailsOf(endpoint, response),
    );
  }
}

export function failureOf(endpoint: HesEndpoint, response: HesHttpResponse, shape: CallShape): HesError {
  const { status } = response;
  const details = detailsOf(endpoint, response);
  if (status === 400) {
    const errorKey = errorKeyOf(response.text);
    if (shape === 'single' && errorKey !== null) {
      return new HesBusinessError(businessReasonOf(errorKey), errorKey, details);
    }
    return new HesProtocolError(
      `${endpoint}: HTTP 400, the request was rejected${errorKey === null ? '' : ` (${redactHesCodes(errorKey)})`}`,
      details,
    );
  }
  if (status === 401 || status === 403) {
    return new HesCredentialsError(`${endpoint}: HTTP ${status}, the G2G credentials were rejected`, details);
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
    return new HesThrottledError(`${endpoint}: HTTP 429, throttled by the Ministry`, retryAfterMs, details);
  }
  if (status === 408) return new HesTimeoutError(`${endpoint}: HTTP 408 from the server`, details);
  if (status >= 500) return new HesServerError(`${endpoint}: HTTP ${status} from the server`, details);
  return new HesProtocolError(`${endpoint}: unexpected HTTP ${status}`, details);
}

const detailsOf = (endpoint: HesEndpoint, response: HesHttpResponse): HesErrorDetails => ({
  endpoint,
  status: response.status,
  headers: response.headers,
  body: response.text,
});

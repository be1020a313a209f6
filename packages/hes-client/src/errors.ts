import { bodyExcerpt, redactHesCodes } from './redact.js';
import type { BusinessReason } from './types.js';

/**
 * Every way a call can fail, decided here and nowhere else. Callers branch on `code` or `category`,
 * never on message text. The client never retries: retrying is the caller's (the worker's) job, and
 * `category` tells it how: see the README's table.
 */
export type HesErrorCategory =
  | 'business'
  | 'throttled'
  | 'transient'
  | 'credentials'
  | 'protocol'
  | 'aborted'
  | 'invalid_argument';

export type HesErrorCode =
  | 'HES_ERR_BUSINESS'
  | 'HES_ERR_THROTTLED'
  | 'HES_ERR_SERVER'
  | 'HES_ERR_TIMEOUT'
  | 'HES_ERR_CONNECTION'
  | 'HES_ERR_CREDENTIALS'
  | 'HES_ERR_PROTOCOL'
  | 'HES_ERR_ABORTED'
  | 'HES_ERR_INVALID_ARGUMENT';

export type HesResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface HesErrorDetails {
  /** The Ministry endpoint called, e.g. `check-hes-code`. */
  endpoint?: string;
  status?: number;
  headers?: HesResponseHeaders;
  /** The raw response text: only a redacted excerpt of it is kept. */
  body?: string;
  cause?: unknown;
}

// A brand rather than `instanceof` alone, so that two copies of this package (dist and source) agree.
const kHesError = Symbol.for('@hes/client.HesError');

export abstract class HesError extends Error {
  abstract readonly code: HesErrorCode;
  abstract readonly category: HesErrorCategory;
  // `declare`: absent details stay absent (no own `undefined` properties in logs and inspections).
  declare readonly endpoint?: string;
  declare readonly status?: number;
  /** The response headers, values redacted like the body. */
  declare readonly headers?: HesResponseHeaders;
  /** At most 200 characters of the response body, every possible HES code in it masked. */
  declare readonly bodyExcerpt?: string;

  constructor(message: string, details: HesErrorDetails = {}) {
    // Messages are built here from our own words; the few pieces that come from the Ministry (an
    // errorKey, an unexpected value) are redacted where they are put in.
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    Object.defineProperty(this, kHesError, { value: true });
    if (details.endpoint !== undefined) this.endpoint = details.endpoint;
    if (details.status !== undefined) this.status = details.status;
    if (details.headers !== undefined) this.headers = redactHeaders(details.headers);
    if (details.body !== undefined && details.body !== '') this.bodyExcerpt = bodyExcerpt(details.body);
  }
}

function redactHeaders(headers: HesResponseHeaders): HesResponseHeaders {
  const redacted: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    redacted[name] = Array.isArray(value)
      ? value.map(redactHesCodes)
      : value === undefined
        ? value
        : redactHesCodes(value);
  }
  return redacted;
}

export function isHesError(e: unknown): e is HesError {
  return typeof e === 'object' && e !== null && (e as { [kHesError]?: unknown })[kHesError] === true;
}

/** A final answer about the code itself: not found, expired, or another Ministry error key. */
export class HesBusinessError extends HesError {
  override readonly name = 'HesBusinessError';
  readonly code = 'HES_ERR_BUSINESS' as const;
  readonly category = 'business' as const;
  readonly reason: BusinessReason;
  readonly errorKey: string;

  constructor(reason: BusinessReason, errorKey: string, details: HesErrorDetails = {}) {
    const key = redactHesCodes(errorKey);
    super(`${details.endpoint ?? 'HES'}: business error ${key} (${reason})`, details);
    this.reason = reason;
    this.errorKey = key;
  }
}

/** HTTP 429. `retryAfterMs` comes from `Retry-After`; null when the Ministry sent none. */
export class HesThrottledError extends HesError {
  override readonly name = 'HesThrottledError';
  readonly code = 'HES_ERR_THROTTLED' as const;
  readonly category = 'throttled' as const;
  readonly retryAfterMs: number | null;

  constructor(message: string, retryAfterMs: number | null, details: HesErrorDetails = {}) {
    super(message, details);
    this.retryAfterMs = retryAfterMs;
  }
}

/** HTTP 5xx, whatever the body (the Ministry's proxy answers HTML). */
export class HesServerError extends HesError {
  override readonly name = 'HesServerError';
  readonly code = 'HES_ERR_SERVER' as const;
  readonly category = 'transient' as const;
}

/** undici's connect, headers or body timeout (or a 408 from the server). */
export class HesTimeoutError extends HesError {
  override readonly name = 'HesTimeoutError';
  readonly code = 'HES_ERR_TIMEOUT' as const;
  readonly category = 'transient' as const;
}

/** Connection reset or refused, socket closed mid-response, DNS failure, any other network error. */
export class HesConnectionError extends HesError {
  override readonly name = 'HesConnectionError';
  readonly code = 'HES_ERR_CONNECTION' as const;
  readonly category = 'transient' as const;
}

/** HTTP 401/403: the G2G user name or password is wrong, expired or not authorised. */
export class HesCredentialsError extends HesError {
  override readonly name = 'HesCredentialsError';
  readonly code = 'HES_ERR_CREDENTIALS' as const;
  readonly category = 'credentials' as const;
}

/** An answer we cannot use: not JSON, unexpected shape, unexpected status, a 400 about our request. */
export class HesProtocolError extends HesError {
  override readonly name = 'HesProtocolError';
  readonly code = 'HES_ERR_PROTOCOL' as const;
  readonly category = 'protocol' as const;
}

/** The caller's AbortSignal fired (before or during the call). */
export class HesAbortedError extends HesError {
  override readonly name = 'HesAbortedError';
  readonly code = 'HES_ERR_ABORTED' as const;
  readonly category = 'aborted' as const;
}

/** Bad input to the client (malformed code, too many codes, bad options): no request was sent. */
export class HesInvalidArgumentError extends HesError {
  override readonly name = 'HesInvalidArgumentError';
  readonly code = 'HES_ERR_INVALID_ARGUMENT' as const;
  readonly category = 'invalid_argument' as const;
}

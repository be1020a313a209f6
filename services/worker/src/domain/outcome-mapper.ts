import type { BusinessReason } from '@hes/client';
import { CHECK_ERROR_CODES, type CheckKind, identityMatches } from '@hes/core';
import type { FinalResult, PlusFields } from '../adapters/checks-repository.js';
import type { HesCodePlusResult, HesCodeResult } from './hes-api.js';

type BulkFailureReason = BusinessReason | 'MISSING';

/**
 * What an upstream failure means, decided here and nowhere else (STYLE: one place, one retry layer).
 * Branches on the client's stable `code`/`category`, never on message text.
 */
export type UpstreamFailure =
  | { type: 'business'; reason: BulkFailureReason; errorKey: string | null }
  | { type: 'throttled'; retryAfterMs: number | null }
  | { type: 'credentials' }
  | { type: 'protocol'; errorClass: string }
  | { type: 'transient'; errorClass: string }
  | { type: 'aborted' };

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  category?: unknown;
  reason?: unknown;
  errorKey?: unknown;
  retryAfterMs?: unknown;
  status?: unknown;
  statusCode?: unknown;
  headers?: unknown;
}

const errorClass = (e: ErrorShape): string => (typeof e.name === 'string' && e.name ? e.name : 'Error');

function contentTypeOf(e: ErrorShape): string {
  const headers = e.headers;
  if (!headers || typeof headers !== 'object') return '';
  const value = (headers as Record<string, unknown>)['content-type'];
  return typeof value === 'string'
    ? value.toLowerCase()
    : Array.isArray(value)
      ? String(value[0]).toLowerCase()
      : '';
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorShape;
  switch (e.code) {
    case 'HES_ERR_BUSINESS': {
      const reason = e.reason === 'NOT_FOUND' || e.reason === 'EXPIRED' ? e.reason : 'UNKNOWN';
      return { type: 'business', reason, errorKey: typeof e.errorKey === 'string' ? e.errorKey : null };
    }
    case 'HES_ERR_THROTTLED':
      return { type: 'throttled', retryAfterMs: typeof e.retryAfterMs === 'number' ? e.retryAfterMs : null };
    case 'HES_ERR_CREDENTIALS':
      return { type: 'credentials' };
    case 'HES_ERR_ABORTED':
      return { type: 'aborted' };
    case 'HES_ERR_INVALID_ARGUMENT':
      // Nothing was sent and the same input would fail again; codes are validated before a call.
      return { type: 'protocol', errorClass: errorClass(e) };
    case 'HES_ERR_PROTOCOL':
      // A 200 whose body is an HTML page comes from a proxy or maintenance page in front of the
      // Ministry, not from the Ministry's application: it says nothing about the code, so it is retried
      // like a 5xx. Malformed JSON from the Ministry itself would be the same on every retry: final.
      if (contentTypeOf(e).includes('html')) return { type: 'transient', errorClass: errorClass(e) };
      return { type: 'protocol', errorClass: errorClass(e) };
  }
  if (e.category === 'transient') return { type: 'transient', errorClass: errorClass(e) };
  // Anything unrecognised (a bug, an unexpected library error) is retried with backoff and, when the
  // attempts run out, fails the checks: a check is never left pending by a job that is gone.
  return { type: 'transient', errorClass: errorClass(e) };
}

const toPlus = (result: HesCodeResult | HesCodePlusResult): PlusFields | null =>
  'plus' in result && result.plus
    ? {
        vaccinated: result.plus.vaccinated,
        immune: result.plus.immune,
        testDataShared: result.plus.testDataShared,
        lastNegativeTestAt: result.plus.lastNegativeTestAt?.toISOString() ?? null,
      }
    : null;

export interface MappableCheck {
  id: string;
  kind: CheckKind;
  identityLast3: string | null;
}

/** A successful answer: completed with the person's masked data (SPEC §4). */
export function mapSuccess(check: MappableCheck, result: HesCodeResult | HesCodePlusResult): FinalResult {
  return {
    id: check.id,
    status: 'completed',
    outcome: result.healthStatus,
    maskedIdentityNumber: result.maskedIdentityNumber,
    maskedFirstName: result.maskedFirstName,
    maskedLastName: result.maskedLastName,
    codeExpiresAt: result.expiresAt,
    identityMatch: identityMatches(check.identityLast3, result.maskedIdentityNumber),
    plus: check.kind === 'plus' ? toPlus(result) : null,
  };
}

/** A business answer about the code. MISSING is not one: callers retry those as transient. */
export function mapBusiness(
  checkId: string,
  reason: Exclude<BulkFailureReason, 'MISSING'>,
  errorKey: string | null,
) {
  if (reason === 'NOT_FOUND' || reason === 'EXPIRED') {
    return { id: checkId, status: 'completed', outcome: reason } satisfies FinalResult;
  }
  return failed(
    checkId,
    CHECK_ERROR_CODES.unknownBusiness,
    `the Ministry rejected the code (errorKey ${safeErrorKey(errorKey)})`,
  );
}

/** Ministry keys are lower-case words; anything else is not echoed (it could carry a code, SPEC §6). */
const safeErrorKey = (key: string | null): string =>
  key === null ? 'none' : /^[a-z][a-z._-]{0,63}$/.test(key) ? key : 'unrecognised';

export function failed(checkId: string, errorCode: string, errorMessage: string): FinalResult {
  return { id: checkId, status: 'failed', errorCode, errorMessage };
}

export const CREDENTIALS_MESSAGE =
  'the Ministry rejected HES_USERNAME/HES_PASSWORD (HTTP 401/403); fix the credentials, checks are not retried';

export const failedCredentials = (checkId: string) =>
  failed(checkId, CHECK_ERROR_CODES.credentials, CREDENTIALS_MESSAGE);

export const failedProtocol = (checkId: string, errorClass: string) =>
  failed(
    checkId,
    CHECK_ERROR_CODES.protocol,
    `the Ministry's answer could not be understood (${errorClass})`,
  );

export const failedExhausted = (checkId: string, lastError: string) =>
  failed(
    checkId,
    CHECK_ERROR_CODES.exhausted,
    `the Ministry API stayed unavailable; last error: ${lastError}`,
  );

export const failedProcessing = (checkId: string, errorClass: string) =>
  failed(checkId, CHECK_ERROR_CODES.processing, `processing kept failing (${errorClass}); attempts used up`);

export const failedUndecryptable = (checkId: string) =>
  failed(
    checkId,
    CHECK_ERROR_CODES.undecryptable,
    'the pending code could not be decrypted (HES_DATA_KEY changed?)',
  );

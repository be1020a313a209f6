export { HesClient } from './client.js';
export { HES_BASE_URLS, HES_ENDPOINTS, type HesEndpoint, MAX_BULK_CODES } from './constants.js';
export { parseHesDate } from './dates.js';
export {
  HesAbortedError,
  HesBusinessError,
  HesConnectionError,
  HesCredentialsError,
  HesError,
  type HesErrorCategory,
  type HesErrorCode,
  type HesErrorDetails,
  HesInvalidArgumentError,
  HesProtocolError,
  type HesResponseHeaders,
  HesServerError,
  HesThrottledError,
  HesTimeoutError,
  isHesError,
} from './errors.js';
export {
  HES_CODE_LENGTH,
  isHesCode,
  maskHesCode,
  type NormalizeFailure,
  type NormalizeResult,
  normalizeHesCode,
} from './hes-code.js';
export { redactHesCodes } from './redact.js';
export { parseRetryAfter } from './retry-after.js';
export type {
  BulkEntry,
  BusinessReason,
  CallOptions,
  HealthStatus,
  HesClientOptions,
  HesCodePlusResult,
  HesCodeResult,
  HesPerson,
  HesPlusData,
  ManyCallOptions,
  VisitLocation,
} from './types.js';

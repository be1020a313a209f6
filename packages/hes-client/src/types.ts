import type { Dispatcher } from 'undici';

export interface HesClientOptions {
  /** e.g. `HES_BASE_URLS.test`; with or without a trailing slash. Its path prefix is kept. */
  baseUrl: string;
  /** The institution's G2G credentials, sent as HTTP Basic on every request. */
  username: string;
  password: string;
  /** Tests pass a MockAgent. Default: an undici Agent owned (and closed) by the client. */
  dispatcher?: Dispatcher;
  /** Keep-alive connections per origin of the owned Agent. Default 32. */
  connections?: number;
  /** Default 5 000 (owned Agent only: a passed dispatcher has its own connector). */
  connectTimeoutMs?: number;
  /** Time to wait for the response headers. Default 15 000. */
  headersTimeoutMs?: number;
  /** Longest silence while the body streams in. Default 15 000. */
  bodyTimeoutMs?: number;
  /** Default `hes-gateway/0.1`. */
  userAgent?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ManyCallOptions extends CallOptions {
  /** Use check-hes-codes-plus. Default false. */
  plus?: boolean;
  /** Bulk calls in flight at once. Default 1. */
  concurrency?: number;
}

export interface HesPerson {
  maskedIdentityNumber: string | null;
  maskedFirstName: string | null;
  maskedLastName: string | null;
}

export type HealthStatus = 'RISKLESS' | 'RISKY';

export interface HesCodeResult extends HesPerson {
  healthStatus: HealthStatus;
  /** When the code expires; null when the Ministry sent no date or one we could not read. */
  expiresAt: Date | null;
}

export interface HesPlusData {
  vaccinated: boolean | null;
  immune: boolean | null;
  testDataShared: boolean | null;
  lastNegativeTestAt: Date | null;
}

export interface HesCodePlusResult extends HesCodeResult {
  plus: HesPlusData;
}

export interface VisitLocation {
  city: string;
  district: string;
  address: string;
  latitude?: number | null;
  longitude?: number | null;
}

export type BusinessReason = 'NOT_FOUND' | 'EXPIRED' | 'UNKNOWN';

/** One per requested code, in request order. `code` is the normalised code. */
export type BulkEntry<T> =
  | { code: string; ok: true; result: T }
  | { code: string; ok: false; reason: BusinessReason | 'MISSING'; errorKey: string | null };

/**
 * Every error the API answers is an RFC 9457 problem with a stable `code` clients branch on. The
 * catalog below is the single place that decides status and title per code.
 */
export const PROBLEMS = {
  VALIDATION_FAILED: { status: 400, title: 'Request validation failed' },
  INVALID_HES_CODE: { status: 400, title: 'Malformed HES code' },
  VISIT_REQUIRED: { status: 400, title: 'A visit location is required' },
  BATCH_EMPTY: { status: 400, title: 'Batch has no items' },
  CSV_INVALID: { status: 400, title: 'CSV roster cannot be read' },
  INVALID_CURSOR: { status: 400, title: 'Invalid pagination cursor' },
  WEBHOOK_URL_INVALID: { status: 400, title: 'Webhook URL is not acceptable' },
  INVALID_CRON: { status: 400, title: 'Invalid cron expression' },
  INVALID_TIME_ZONE: { status: 400, title: 'Unknown time zone' },
  ROSTER_EMPTY: { status: 400, title: 'Roster has no items' },
  UNAUTHORIZED: { status: 401, title: 'Authentication required' },
  FORBIDDEN_SCOPE: { status: 403, title: 'API key lacks the required scope' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  WEBHOOK_NOT_FOUND: { status: 404, title: 'Webhook not found' },
  ROSTER_NOT_FOUND: { status: 404, title: 'Roster not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'A request with this Idempotency-Key is in progress' },
  ROSTER_NAME_TAKEN: { status: 409, title: 'A roster with this name exists' },
  ROSTER_UNREADABLE: { status: 409, title: "The roster's stored codes cannot be decrypted" },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  BATCH_TOO_LARGE: { status: 413, title: 'Batch has too many items' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency-Key reused with a different request' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface FieldError {
  /** JSON pointer into the request part named by `in` ("/items/3/identityLast3"). */
  path: string;
  in: 'body' | 'querystring' | 'params' | 'headers';
  message: string;
}

export interface ProblemOptions {
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members (RFC 9457 allows extensions), e.g. `limit` of BATCH_TOO_LARGE. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

export class ApiProblem extends Error {
  readonly code: ProblemCode;
  readonly statusCode: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(code: ProblemCode, options: ProblemOptions = {}) {
    super(options.detail ?? PROBLEMS[code].title, { cause: options.cause });
    this.name = 'ApiProblem';
    this.code = code;
    this.statusCode = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
    this.detail = options.detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

/** Thrown by adapters when PostgreSQL cannot be reached; answered as 503 SERVICE_UNAVAILABLE. */
export { DatabaseUnavailableError } from '@hes/core';

/** A URN rather than a URL: there is no public page per problem to dereference. */
export const problemType = (code: ProblemCode) =>
  `urn:hes-gateway:problem:${code.toLowerCase().replaceAll('_', '-')}`;

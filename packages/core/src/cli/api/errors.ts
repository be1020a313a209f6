/** A problem+json answer from the API (or a non-JSON error answer), as one operator line. */
export class ApiProblemError extends Error {
  readonly code: string;
  /** From Retry-After on 429/503, for callers that poll. */
  retryAfterMs: number | undefined;
  constructor(
    readonly status: number,
    problemCode: string,
    readonly detail: string,
    readonly requestId: string | undefined,
  ) {
    super(`${problemCode} (${status}): ${detail}`);
    this.name = 'ApiProblemError';
    this.code = problemCode;
  }
}

/** The API could not be reached at all (refused, DNS, timeout): nothing was sent, or nothing came back. */
export class ApiUnreachableError extends Error {
  readonly code = 'API_UNREACHABLE';
  constructor(baseUrl: string, cause: unknown) {
    super(`cannot reach the API at ${baseUrl} (${causeCode(cause)})`, { cause });
    this.name = 'ApiUnreachableError';
  }
}

/** undici hides the socket error under `cause` (often an AggregateError from happy eyeballs). */
function causeCode(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 5 && e; depth++) {
    if (e instanceof AggregateError && e.errors.length > 0) e = e.errors[0];
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (e instanceof Error && e.message) message = e.message;
    e = (e as { cause?: unknown }).cause;
  }
  return message;
}

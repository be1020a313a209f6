/** Thrown by adapters when PostgreSQL cannot be reached; the API answers it as 503 SERVICE_UNAVAILABLE. */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(options?: { cause?: unknown }) {
    super('PostgreSQL is unavailable', options);
    this.name = 'DatabaseUnavailableError';
  }
}

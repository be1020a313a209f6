import { DatabaseUnavailableError } from '../domain/problem.js';

/** Prisma codes that mean "cannot talk to PostgreSQL" rather than "the query was wrong". */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** Driver-adapter error kinds (meta.driverAdapterError.cause.kind) with the same meaning. */
const ADAPTER_UNAVAILABLE = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
]);

/** Network errnos and SQLSTATE classes of node-postgres for the same situation. */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);
const SQLSTATE_UNAVAILABLE = /^(08...|57P0[123]|53300|3D000)$/;

interface MaybeDbError {
  code?: unknown;
  meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
  cause?: unknown;
}

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const e = err as MaybeDbError;
  if (typeof e.code === 'string') {
    if (PRISMA_UNAVAILABLE.has(e.code) || NET_CODES.has(e.code) || SQLSTATE_UNAVAILABLE.test(e.code))
      return true;
  }
  const kind = e.meta?.driverAdapterError?.cause?.kind;
  if (typeof kind === 'string' && ADAPTER_UNAVAILABLE.has(kind)) return true;
  if (e.constructor?.name === 'PrismaClientInitializationError') return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

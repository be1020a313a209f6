import pg from 'pg';

export type PgPool = pg.Pool;
export type PgPoolClient = pg.PoolClient;

export interface PgPoolOptions {
  max?: number;
  connectionTimeoutMillis?: number;
  statementTimeoutMillis?: number;
  applicationName?: string;
  /**
   * false: commits on these connections do not wait for the WAL flush (`synchronous_commit=off`). Only
   * for writes whose loss in a PostgreSQL crash is harmless (the worker's claim: the check stays queued
   * and is claimed again); never for anything acknowledged to a client.
   */
  synchronousCommit?: boolean;
}

/**
 * A plain node-postgres pool for the few paths Prisma serves poorly: multi-row `INSERT … SELECT FROM
 * unnest(…)` with tens of thousands of array elements (Prisma serialises every element through its
 * query compiler) and keyset-paged exports.
 */
export function createPgPool(databaseUrl: string, options: PgPoolOptions = {}): PgPool {
  return new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 5,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    statement_timeout: options.statementTimeoutMillis ?? 60_000,
    application_name: options.applicationName ?? 'hes-gateway',
    ...(options.synchronousCommit === false ? { options: '-c synchronous_commit=off' } : {}),
  });
}

import type { PgPool } from '../db/pg-pool.js';

export interface StatementRecording {
  /** Names of the prepared statements run through the pool since the recording started, in order. */
  readonly names: string[];
  /** Puts the pool's own `query` back. */
  stop(): void;
}

/**
 * Records which named statements a real pool runs (tests of coalescing count them): `pool.query` is
 * wrapped, not replaced, so every statement still reaches PostgreSQL.
 */
export function recordPgStatements(pool: PgPool): StatementRecording {
  const original = pool.query;
  const names: string[] = [];
  pool.query = ((...args: Parameters<typeof original>) => {
    const config = args[0] as { name?: string };
    if (typeof config === 'object' && config?.name) names.push(config.name);
    return (original as (...a: unknown[]) => unknown).apply(pool, args);
  }) as typeof original;
  return {
    names,
    stop() {
      pool.query = original;
    },
  };
}

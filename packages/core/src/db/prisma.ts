import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type { Prisma } from '../generated/prisma/client.js';
export { PrismaClient };

export interface PrismaOptions {
  /** Pool size of the underlying node-postgres pool. */
  max?: number;
  /** Milliseconds to wait for a connection before failing fast (an outage must not hang requests). */
  connectionTimeoutMillis?: number;
  /** Server-side statement timeout in milliseconds. */
  statementTimeoutMillis?: number;
  applicationName?: string;
}

/**
 * Prisma on the pg driver adapter: the query compiler is WebAssembly, so no native engine is needed
 * (TOOLCHAIN: Prisma's native engines cannot be downloaded on closed networks).
 */
export function createPrisma(databaseUrl: string, options: PrismaOptions = {}): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    statement_timeout: options.statementTimeoutMillis ?? 30_000,
    application_name: options.applicationName ?? 'hes-gateway',
  });
  return new PrismaClient({ adapter });
}

import { createPgPool, type PgPool, type PrismaClient } from '@hes/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { BatchesRepository } from '../adapters/batches-repository.js';
import { ChecksRepository } from '../adapters/checks-repository.js';

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient;
    /** node-postgres pool for bulk roster inserts; owned (and closed) by the app. */
    pgPool: PgPool;
    checksRepository: ChecksRepository;
    batchesRepository: BatchesRepository;
  }
}

export interface DbOptions {
  prisma: PrismaClient;
  databaseUrl: string;
}

export default fp<DbOptions>(
  async function db(app: FastifyInstance, opts) {
    const pool = createPgPool(opts.databaseUrl, {
      max: 16,
      connectionTimeoutMillis: 3_000,
      applicationName: 'hes-api',
    });
    // An idle connection dropped by a PostgreSQL restart must not crash the process.
    pool.on('error', (err) => app.log.warn({ err }, 'idle PostgreSQL connection failed'));
    app.decorate('prisma', opts.prisma);
    app.decorate('pgPool', pool);
    app.decorate('checksRepository', new ChecksRepository(opts.prisma, pool));
    app.decorate('batchesRepository', new BatchesRepository(opts.prisma));
    app.addHook('onClose', async () => {
      await pool.end();
    });
  },
  { name: 'db' },
);

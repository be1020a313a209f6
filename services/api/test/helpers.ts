import { randomBytes } from 'node:crypto';
import {
  CheckEventHub,
  type ChecksQueue,
  createApiKey,
  createRedis,
  publishChecksFinal,
  QUEUES,
} from '@hes/core';
import { createTestDatabase, createTestRedis } from '@hes/core/testing';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadApiConfig } from '../src/config.js';

export { waitFor } from '@hes/core/testing';

export const DATA_KEY = randomBytes(32).toString('base64');

export type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
export type TestRedis = Awaited<ReturnType<typeof createTestRedis>>;

export interface ApiHarness {
  app: FastifyInstance;
  db: TestDb;
  redis: TestRedis;
  queue: ChecksQueue;
  /** Bearer keys by scope set. */
  keys: { read: string; write: string; admin: string; readWrite: string };
  auth(key: string): { authorization: string };
  /** Stands in for the worker: writes a final result and publishes the completion event. */
  completeCheck(id: string, result?: Partial<FinalResult>): Promise<void>;
  /** Builds another app on the same database and Redis prefix with extra environment. */
  buildExtra(env: Record<string, string>): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export interface FinalResult {
  status: 'completed' | 'failed';
  outcome: 'RISKLESS' | 'RISKY' | 'NOT_FOUND' | 'EXPIRED' | null;
  maskedIdentityNumber: string | null;
  errorCode: string | null;
}

export async function startApi(label: string, env: Record<string, string> = {}): Promise<ApiHarness> {
  const db = await createTestDatabase(`api-${label}`);
  const redis = await createTestRedis(`api-${label}`);
  const extras: FastifyInstance[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  async function build(extraEnv: Record<string, string>) {
    const config = loadApiConfig({
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      HES_DATA_KEY: DATA_KEY,
      LOG_LEVEL: 'silent',
      ...env,
      ...extraEnv,
    });
    const queue: ChecksQueue = new Queue(QUEUES.checks, {
      connection: redis.connection,
      prefix: redis.prefix,
    });
    const subscriber = createRedis(redis.url, { name: `test-${label}-events` });
    subscriber.on('error', () => {});
    const events = new CheckEventHub(subscriber, redis.prefix);
    const app = await buildApp({ config, prisma: db.prisma, queue, redis: redis.connection, events });
    closers.push(
      () => app.close(),
      () => queue.close(),
      () => events.close(),
    );
    return { app, queue };
  }

  const { app, queue } = await build({});
  const key = async (name: string, scopes: string[]) => (await createApiKey(db.prisma, { name, scopes })).key;
  const keys = {
    read: await key('reader', ['checks:read']),
    write: await key('writer', ['checks:write']),
    admin: await key('admin', ['admin']),
    readWrite: await key('reader-writer', ['checks:read', 'checks:write']),
  };

  return {
    app,
    db,
    redis,
    queue,
    keys,
    auth: (k) => ({ authorization: `Bearer ${k}` }),
    async completeCheck(id, result = {}) {
      const status = result.status ?? 'completed';
      await db.prisma.check.update({
        where: { id },
        data: {
          status,
          outcome: status === 'completed' ? (result.outcome ?? 'RISKLESS') : null,
          maskedIdentityNumber:
            status === 'completed' ? (result.maskedIdentityNumber ?? '********792') : null,
          maskedFirstName: status === 'completed' ? 'DE****' : null,
          maskedLastName: status === 'completed' ? 'DE****' : null,
          codeExpiresAt: status === 'completed' ? new Date('2070-12-30T13:00:00Z') : null,
          errorCode: status === 'failed' ? (result.errorCode ?? 'UPSTREAM_UNAVAILABLE') : null,
          errorMessage: status === 'failed' ? 'gave up' : null,
          codeCipher: null,
          attempts: 1,
          completedAt: new Date(),
        },
      });
      await publishChecksFinal(redis.connection, redis.prefix, [id]);
    },
    async buildExtra(extraEnv) {
      const extra = await build(extraEnv);
      extras.push(extra.app);
      return extra.app;
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
      await redis.close();
      await db.drop();
    },
  };
}

/** One stored check and one stored batch, for tests that need ids of real rows on every route. */
export async function seedCheckAndBatch(
  h: ApiHarness,
  hesCode = 'A1B2C3D4E5',
  reference?: string,
): Promise<{ checkId: string; batchId: string }> {
  const check = await h.app.inject({
    method: 'POST',
    url: '/v1/checks',
    headers: h.auth(h.keys.admin),
    payload: { hesCode, ...(reference ? { reference } : {}) },
  });
  const batch = await h.app.inject({
    method: 'POST',
    url: '/v1/batches',
    headers: h.auth(h.keys.admin),
    payload: { items: [{ hesCode: 'A1B2C3D4E5' }] },
  });
  return { checkId: check.json().id, batchId: batch.json().id };
}

// The real API app and a real worker runtime, built in-process against this test file's own database
// and Redis prefix, listening on free ports like the containers do on 3000 and 9464.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '@hes/api';
import { CheckEventHub, type ChecksQueue, createLogger, createRedis, QUEUES } from '@hes/core';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@hes/core/testing';
import { buildSandboxApp, type SandboxApp } from '@hes/sandbox';
import { createWorkerRuntime, loadWorkerConfig, type WorkerRuntime } from '@hes/worker';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { loadApiConfig } from '../../services/api/src/config.js';
import { startMetricsServer } from '../../services/worker/src/adapters/metrics-server.js';

export const SANDBOX_USERNAME = 'deploy-tests';
export const SANDBOX_PASSWORD = 'deploy-tests-secret';

export interface Stack {
  db: TestDatabase;
  redis: TestRedis;
  api: FastifyInstance;
  /** http://127.0.0.1:<port> of the listening API. */
  apiUrl: string;
  worker: WorkerRuntime;
  /** http://127.0.0.1:<port> of the worker's metrics server (WORKER_METRICS_PORT). */
  workerMetricsUrl: string;
  sandbox: SandboxApp;
  close(): Promise<void>;
}

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

export async function startStack(label: string): Promise<Stack> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const db = await createTestDatabase(label);
    closers.push(() => db.drop());
    const redis = await createTestRedis(label);
    closers.push(() => redis.close());

    const sandbox = buildSandboxApp({ username: SANDBOX_USERNAME, password: SANDBOX_PASSWORD });
    await sandbox.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => sandbox.close());

    const env: NodeJS.ProcessEnv = {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      HES_BASE_URL: `http://127.0.0.1:${portOf(sandbox.server)}/services/g2g/test/saglik/hes/`,
      HES_USERNAME: SANDBOX_USERNAME,
      HES_PASSWORD: SANDBOX_PASSWORD,
      HES_DATA_KEY: randomBytes(32).toString('base64'),
      HES_RATE_LIMIT_RPS: '200',
      HES_REQUEST_TIMEOUT_MS: '5000',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'silent',
    };

    const queue: ChecksQueue = new Queue(QUEUES.checks, {
      connection: redis.connection,
      prefix: redis.prefix,
    });
    closers.push(() => queue.close());
    const subscriber = createRedis(redis.url, { name: `${label}-events` });
    subscriber.on('error', () => {});
    const events = new CheckEventHub(subscriber, redis.prefix);
    closers.push(() => events.close());
    const api = await buildApp({
      config: loadApiConfig(env),
      prisma: db.prisma,
      queue,
      redis: redis.connection,
      events,
    });
    closers.push(() => api.close());
    await api.listen({ port: 0, host: '127.0.0.1' });

    const logger = createLogger({ name: label, level: 'silent' });
    const worker = await createWorkerRuntime({
      config: loadWorkerConfig(env),
      prisma: db.prisma,
      logger,
      maintenance: false,
    });
    closers.push(() => worker.close({ force: true }));
    const metricsServer = await startMetricsServer(worker.metrics.registry, 0, '127.0.0.1');
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          metricsServer.closeAllConnections();
          metricsServer.close(() => resolve());
        }),
    );

    return {
      db,
      redis,
      api,
      apiUrl: `http://127.0.0.1:${portOf(api.server)}`,
      worker,
      workerMetricsUrl: `http://127.0.0.1:${portOf(metricsServer)}`,
      sandbox,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

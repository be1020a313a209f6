// The deploy tests' view of the end-to-end stack: the API and one worker listening on free ports, as the
// containers do on 3000 and 9464, so a real Prometheus can scrape them.
import type { TestDatabase, TestRedis } from '@hes/core/testing';
import type { SandboxApp } from '@hes/sandbox';
import type { WorkerRuntime } from '@hes/worker';
import type { FastifyInstance } from 'fastify';
import { startStack as startE2eStack } from '../support/stack.js';

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

export async function startStack(label: string): Promise<Stack> {
  const s = await startE2eStack(label, {
    env: {
      HES_RATE_LIMIT_RPS: '200',
      HES_REQUEST_TIMEOUT_MS: '5000',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'silent',
    },
  });
  try {
    const worker = await s.startWorker({}, { maintenance: false });
    return {
      db: s.db,
      redis: s.redis,
      api: s.api,
      apiUrl: await s.listen(),
      worker,
      workerMetricsUrl: await s.serveWorkerMetrics(worker),
      sandbox: s.sandbox,
      close: () => s.close(),
    };
  } catch (err) {
    await s.close();
    throw err;
  }
}

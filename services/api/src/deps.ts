import type { CheckEventHub, ChecksQueue, createRedis, PrismaClient } from '@hes/core';
import type { Registry } from 'prom-client';
import type { ApiConfig } from './config.js';
import type { AdmissionHook } from './plugins/auth.js';

export type RedisClient = ReturnType<typeof createRedis>;

/**
 * What the app is built from. The caller owns (and closes) these; the app owns only what it creates
 * itself (a small node-postgres pool for bulk inserts, the metrics registry unless one is passed).
 */
export interface AppDeps {
  config: ApiConfig;
  prisma: PrismaClient;
  /** BullMQ queue QUEUES.checks, on the deployment's Redis prefix. */
  queue: ChecksQueue;
  /** The queue's command connection: readiness PING, and enqueueing is skipped at once while it is down. */
  redis: RedisClient;
  /** Completion events for `?wait=`; started by the app. */
  events: CheckEventHub;
  registry?: Registry | undefined;
  /** An extra admission check after authentication, run after the per-key rate limit (plugins/rate-limit.ts). */
  admission?: AdmissionHook | undefined;
}

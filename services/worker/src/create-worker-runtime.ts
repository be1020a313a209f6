import { setMaxListeners } from 'node:events';
import { HesClient } from '@hes/client';
import {
  type CheckJobData,
  type CheckJobName,
  type ChecksQueue,
  CodeVault,
  createPgPool,
  createRedis,
  type Logger,
  type MaintenanceJobName,
  type PrismaClient,
  QUEUES,
} from '@hes/core';
import { Queue, Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import { ChecksRepository } from './adapters/checks-repository.js';
import { WorkerMetrics } from './adapters/metrics.js';
import { RedisRateLimiter, type Sleep } from './adapters/redis-rate-limiter.js';
import type { WorkerConfig } from './config.js';
import { hesBackoffStrategy } from './domain/backoff.js';
import { CheckProcessor } from './domain/check-processor.js';
import { CredentialsCircuit } from './domain/credentials-circuit.js';
import type { HesApi } from './domain/hes-api.js';
import type { ReconcileReport } from './domain/reconciler.js';
import type { PurgeReport } from './domain/retention.js';
import { UpstreamCaller } from './domain/upstream-caller.js';
import { createCheckJobHandler } from './jobs/check-job-handler.js';
import { reconcileJob } from './jobs/reconcile-job.js';
import { retentionPurgeJob } from './jobs/retention-purge-job.js';
import { MaintenanceLoop } from './maintenance-loop.js';
import { type RostersRuntime, startRostersRuntime } from './rosters/rosters-runtime.js';
import { startWebhookRuntime, type WebhookRuntime } from './webhooks/webhook-runtime.js';

export interface WorkerRuntimeDeps {
  config: WorkerConfig;
  /** Owned by the caller (main.ts or a test), not closed by the runtime. */
  prisma: PrismaClient;
  logger: Logger;
  /** The Ministry client; by default a HesClient built from the config (and closed with the runtime). */
  api?: HesApi;
  registry?: Registry;
  /** Backoff jitter (tests make it deterministic). */
  random?: () => number;
  /** Limiter sleep (tests may observe it); clocks stay real: the limiter's clock is Redis TIME. */
  sleep?: Sleep;
  /** Run the maintenance timer (reconciler, retention scheduler). Default true. */
  maintenance?: boolean;
}

export interface WorkerRuntime {
  readonly metrics: WorkerMetrics;
  readonly queue: ChecksQueue;
  readonly limiter: RedisRateLimiter;
  readonly circuit: CredentialsCircuit;
  /** Roster runs (hes-rosters queue) and their job schedulers (services/worker/src/rosters). */
  readonly rosters: RostersRuntime;
  /** Outbound webhooks: outbox dispatcher and delivery worker (services/worker/src/webhooks). */
  readonly webhooks: WebhookRuntime;
  /** One reconciler pass now, without the fleet lock. */
  reconcileNow(): Promise<ReconcileReport>;
  /** The retention purge now (`now` sets the clock the cutoff is computed from). */
  purgeNow(now?: Date): Promise<PurgeReport>;
  /** Graceful: jobs waiting for a slot go back to the queue, requests in flight finish. `force` aborts them. */
  close(options?: { force?: boolean }): Promise<void>;
}

/** Job slots served by one BullMQ worker (one job-fetching loop). */
const JOBS_PER_FETCHER = 16;

/** WORKER_CONCURRENCY as the concurrencies of ⌈n / 16⌉ BullMQ workers: 40 → 14, 13, 13. */
export function splitConcurrency(total: number): number[] {
  const fetchers = Math.max(1, Math.ceil(total / JOBS_PER_FETCHER));
  return Array.from(
    { length: fetchers },
    (_, i) => Math.floor(total / fetchers) + (i < total % fetchers ? 1 : 0),
  );
}

/** Builds the whole worker from its dependencies: main.ts in production, tests in-process. */
export async function createWorkerRuntime(deps: WorkerRuntimeDeps): Promise<WorkerRuntime> {
  const { config, prisma, logger } = deps;
  const { gateway } = config;
  const prefix = gateway.redisPrefix;
  // The worker's own commands (limiter, credentials circuit, completion events) go out pipelined: the
  // commands of all jobs that run in one turn of the event loop share one socket write. Not BullMQ's
  // connection: Bull has known trouble with auto-pipelining (taskforcesh/bullmq#457).
  const redis = createRedis(gateway.redisUrl, { name: 'hes-worker', enableAutoPipelining: true });
  const bullConnection = createRedis(gateway.redisUrl, { name: 'hes-worker-bullmq' });
  const ownsApi = !deps.api;
  const api: HesApi =
    deps.api ??
    new HesClient({
      baseUrl: gateway.hes.baseUrl,
      username: gateway.hes.username,
      password: gateway.hes.password,
      connections: config.concurrency,
      headersTimeoutMs: gateway.hes.requestTimeoutMs,
      bodyTimeoutMs: gateway.hes.requestTimeoutMs,
    });

  const metrics = new WorkerMetrics(deps.registry ? { registry: deps.registry } : {});
  metrics.rateLimitRps.set(gateway.hes.rateLimitRps);
  // The check path's SQL runs on node-postgres (see ChecksRepository). A job holds a connection only
  // for the length of one statement, so a few serve 16 jobs; several workers must fit max_connections.
  const pool = createPgPool(gateway.databaseUrl, {
    max: Math.min(config.concurrency, 8) + 2,
    applicationName: 'hes-worker',
  });
  const claimPool = createPgPool(gateway.databaseUrl, {
    max: Math.min(config.concurrency, 4),
    applicationName: 'hes-worker-claim',
    synchronousCommit: false,
  });
  for (const p of [pool, claimPool]) {
    p.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
  }
  const repo = new ChecksRepository(pool, claimPool);
  const limiter = new RedisRateLimiter({
    redis,
    prefix,
    rps: gateway.hes.rateLimitRps,
    marginMs: config.rateLimitMarginMs,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  const circuit = new CredentialsCircuit({
    redis,
    prefix,
    cooldownMs: config.credentialsCooldownMs,
    probeTtlMs: gateway.hes.requestTimeoutMs * 2 + 5_000,
  });
  const caller = new UpstreamCaller({
    limiter,
    circuit,
    metrics,
    logger,
    maxThrottledMs: config.maxThrottledMs,
  });
  const processor = new CheckProcessor({
    repo,
    vault: new CodeVault(gateway.dataKey),
    api,
    caller,
    metrics,
    redis,
    redisPrefix: prefix,
    defaultVisit: gateway.defaultVisit,
  });
  const retry = { maxAttempts: gateway.hes.maxAttempts, backoffBaseMs: gateway.hes.backoffBaseMs };

  const queue: ChecksQueue = new Queue<CheckJobData, unknown, CheckJobName>(QUEUES.checks, {
    connection: bullConnection,
    prefix,
  });
  const maintenanceQueue = new Queue<unknown, unknown, MaintenanceJobName>(QUEUES.maintenance, {
    connection: bullConnection,
    prefix,
  });
  const reconcile = reconcileJob({
    repo,
    queue,
    retry,
    metrics,
    logger,
    staleMs: config.reconcileStaleMs,
    maxRows: config.reconcileMaxRows,
  });
  const purge = retentionPurgeJob({ repo, metrics, logger, retentionDays: gateway.retentionDays });
  metrics.setProbes({
    queueCounts: async () => {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
      return {
        // Roster jobs wait in BullMQ's "prioritized" set (ROSTER_JOB_PRIORITY): waiting all the same.
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        failed: c.failed ?? 0,
      };
    },
    oldestPendingAgeSeconds: () => repo.oldestPendingAgeSeconds(),
    credentialsFailing: () => circuit.isFailing(),
  });

  const drain = new AbortController();
  const force = new AbortController();
  // Every job in flight listens on both (a rate-limit wait, an upstream request), and removes its
  // listener when it ends: WORKER_CONCURRENCY listeners are not a leak, and Node's warning at 11 would
  // tell an operator they were.
  setMaxListeners(0, drain.signal, force.signal);
  const processCheckJob = createCheckJobHandler({
    processor,
    metrics,
    logger,
    signals: { drain: drain.signal, force: force.signal },
  });

  // A BullMQ worker takes jobs one Redis round trip after another: when a crowd of checks arrives at
  // once, the last waits for all the others' round trips. One BullMQ worker per JOBS_PER_FETCHER job
  // slots takes them in parallel (measured at 64 slots: the mean queue wait of `?wait=` checks
  // went from 18 ms to 9 ms, p50 overhead 74–86 → 60–66 ms).
  const backoffStrategy = hesBackoffStrategy(
    { baseMs: gateway.hes.backoffBaseMs, maxMs: gateway.hes.backoffMaxMs },
    deps.random,
  );
  const checkWorkers = splitConcurrency(config.concurrency).map((concurrency) => {
    const w = new Worker<CheckJobData, unknown, CheckJobName>(QUEUES.checks, processCheckJob, {
      connection: bullConnection,
      prefix,
      concurrency,
      lockDuration: config.lockDurationMs,
      stalledInterval: config.lockDurationMs,
      settings: { backoffStrategy },
    });
    w.on('error', (err) => logger.error({ err }, 'checks worker error'));
    return w;
  });

  const maintenanceWorker = new Worker<unknown, unknown, MaintenanceJobName>(
    QUEUES.maintenance,
    async (job) => {
      if (job.name === 'retention-purge') await purge();
      else if (job.name === 'reconcile') await reconcile();
    },
    { connection: bullConnection, prefix, concurrency: 1 },
  );
  maintenanceWorker.on('error', (err) => logger.error({ err }, 'maintenance worker error'));
  await Promise.all([...checkWorkers.map((w) => w.waitUntilReady()), maintenanceWorker.waitUntilReady()]);
  const rosters = await startRostersRuntime({
    prisma,
    databaseUrl: gateway.databaseUrl,
    vault: new CodeVault(gateway.dataKey),
    connection: bullConnection,
    prefix,
    checksQueue: queue,
    retry,
    defaultVisit: gateway.defaultVisit,
    logger,
  });
  const webhooks = await startWebhookRuntime({
    config,
    prisma,
    logger,
    vault: new CodeVault(gateway.dataKey),
    registry: metrics.registry,
    connection: bullConnection,
    random: deps.random,
  });

  const loop = new MaintenanceLoop({
    redis,
    prefix,
    maintenanceQueue,
    intervalMs: config.reconcileIntervalMs,
    retentionCron: config.retentionCron,
    reconcile,
    resync: () => rosters.syncSchedules(),
    logger,
  });
  if (deps.maintenance !== false) loop.start();

  let closing: Promise<void> | null = null;
  const close = async (options: { force?: boolean } = {}): Promise<void> => {
    drain.abort();
    if (options.force) force.abort();
    closing ??= (async () => {
      await loop.stop();
      await Promise.all([
        ...checkWorkers.map((w) => w.close(options.force)),
        maintenanceWorker.close(options.force),
        rosters.close(options.force),
        webhooks.close(options.force),
      ]);
      await Promise.all([queue.close(), maintenanceQueue.close()]);
      if (ownsApi) await (api as { close?: () => Promise<void> }).close?.();
      await Promise.all([redis.quit(), bullConnection.quit(), pool.end(), claimPool.end()]);
    })();
    if (options.force) {
      // A forced close after a graceful one: abort what the graceful one is waiting for.
      await Promise.all([...checkWorkers.map((w) => w.close(true)), maintenanceWorker.close(true)]);
    }
    await closing;
  };

  return {
    metrics,
    queue,
    limiter,
    circuit,
    rosters,
    webhooks,
    reconcileNow: reconcile,
    purgeNow: (now?: Date) => purge(now),
    close,
  };
}

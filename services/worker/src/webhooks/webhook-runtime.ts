import {
  type CodeVault,
  type createRedis,
  type Logger,
  type PrismaClient,
  QUEUES,
  type WebhookDeliveryJob,
  type WebhookJobName,
} from '@hes/core';
import { type JobsOptions, Queue, Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import type { WorkerConfig } from '../config.js';
import { WEBHOOK_BACKOFF_TYPE, webhookBackoffStrategy } from './backoff.js';
import { DeliveriesRepository } from './deliveries-repository.js';
import { createDeliveryJobHandler } from './delivery-job.js';
import { WebhookDispatcher } from './dispatcher.js';
import { OutboxListener } from './outbox-listener.js';
import { WebhookSender } from './sender.js';
import { WebhookMetrics } from './webhook-metrics.js';

export interface WebhookRuntimeDeps {
  config: WorkerConfig;
  prisma: PrismaClient;
  logger: Logger;
  vault: CodeVault;
  registry: Registry;
  /** BullMQ's connection (maxRetriesPerRequest null), shared with the worker's other queues. */
  connection: ReturnType<typeof createRedis>;
  random?: (() => number) | undefined;
  /** Default 60 s; tests shorten it. */
  redispatchAfterMs?: number | undefined;
}

export interface WebhookRuntime {
  readonly queue: Queue<WebhookDeliveryJob, unknown, WebhookJobName>;
  /** Offers every dispatchable outbox row to the queue now. */
  dispatchNow(): Promise<number>;
  close(force?: boolean): Promise<void>;
}

const HOUR_MS = 3_600_000;

/** Outbox → queue → signed POST: the dispatcher, its LISTEN connection and the delivery worker. */
export async function startWebhookRuntime(deps: WebhookRuntimeDeps): Promise<WebhookRuntime> {
  const { config, logger, connection } = deps;
  const { webhooks } = config;
  const prefix = config.gateway.redisPrefix;
  const log = logger.child({ component: 'webhooks' });
  const repo = new DeliveriesRepository(deps.prisma);
  const metrics = new WebhookMetrics(deps.registry, () => repo.pendingCount());
  const sender = new WebhookSender({ timeoutMs: webhooks.timeoutMs });
  const backoff = { baseMs: webhooks.backoffBaseMs, maxMs: webhooks.backoffMaxMs };

  const queue = new Queue<WebhookDeliveryJob, unknown, WebhookJobName>(QUEUES.webhooks, {
    connection,
    prefix,
  });
  // Jobs are removed when they end either way: the outbox row is the record, and a redelivery must be
  // able to reuse the delivery id as job id.
  const jobOptions: JobsOptions = {
    attempts: webhooks.maxAttempts,
    backoff: { type: WEBHOOK_BACKOFF_TYPE },
    removeOnComplete: true,
    removeOnFail: true,
  };
  const handler = createDeliveryJobHandler({
    db: deps.prisma,
    repo,
    sender,
    vault: deps.vault,
    metrics,
    logger: log,
    backoff,
    ...(deps.random ? { random: deps.random } : {}),
  });
  const worker = new Worker<WebhookDeliveryJob, unknown, WebhookJobName>(QUEUES.webhooks, handler, {
    connection,
    prefix,
    concurrency: webhooks.concurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.lockDurationMs,
    settings: { backoffStrategy: webhookBackoffStrategy(backoff, deps.random) },
  });
  worker.on('error', (err) => log.error({ err }, 'webhook worker error'));
  await worker.waitUntilReady();

  const dispatcher = new WebhookDispatcher({
    repo,
    queue,
    jobOptions,
    logger: log,
    pollIntervalMs: webhooks.pollIntervalMs,
    redispatchAfterMs: deps.redispatchAfterMs ?? 60_000,
  });
  const listener = new OutboxListener({
    databaseUrl: config.gateway.databaseUrl,
    onNotify: () => dispatcher.trigger(),
    logger: log,
  });
  listener.start();
  dispatcher.start();

  // Delivered/failed rows hold masked check data: they follow the checks' retention (SPEC §6).
  const purge = setInterval(() => {
    const cutoff = new Date(Date.now() - config.gateway.retentionDays * 24 * HOUR_MS);
    repo.purgeFinished(cutoff, 10_000).catch((err: unknown) => log.warn({ err }, 'webhook purge failed'));
  }, HOUR_MS);
  purge.unref();

  return {
    queue,
    dispatchNow: () => dispatcher.dispatchNow(),
    async close(force = false) {
      clearInterval(purge);
      await Promise.all([listener.close(), dispatcher.close()]);
      await worker.close(force);
      await queue.close();
      await sender.close(force);
    },
  };
}

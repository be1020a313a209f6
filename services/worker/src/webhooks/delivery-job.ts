import {
  CodeDecryptionError,
  type CodeVault,
  type Logger,
  openWebhookSecret,
  type PrismaClient,
  signWebhook,
} from '@hes/core';
import { type Job, UnrecoverableError } from 'bullmq';
import { type WebhookBackoffPolicy, WebhookRetryError, webhookRetryDelayMs } from './backoff.js';
import type { DeliveriesRepository } from './deliveries-repository.js';
import { buildWebhookPayload } from './payload.js';
import type { WebhookSender } from './sender.js';
import type { WebhookMetrics } from './webhook-metrics.js';

export interface DeliveryJobDeps {
  db: PrismaClient;
  repo: DeliveriesRepository;
  sender: WebhookSender;
  vault: CodeVault;
  metrics: WebhookMetrics;
  logger: Logger;
  backoff: WebhookBackoffPolicy;
  random?: () => number;
  /** Unix seconds for the signature timestamp (tests may pin it). */
  nowSeconds?: () => number;
}

export type DeliveryJob = Pick<Job<{ deliveryId: string }>, 'data' | 'attemptsMade' | 'opts'>;

/**
 * One attempt of one outbox row: build (first time) and store the body, sign it, POST it, record the
 * attempt. A 2xx delivers; 410 Gone disables the webhook; anything else is thrown so BullMQ retries
 * with the delay decided here, and the last allowed attempt marks the row failed.
 */
export function createDeliveryJobHandler(deps: DeliveryJobDeps) {
  const { repo, metrics, logger } = deps;
  const nowSeconds = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));

  return async function deliver(job: DeliveryJob): Promise<void> {
    const d = await repo.find(job.data.deliveryId);
    // Deleted with its webhook, or already finished (a duplicate job after a redispatch): nothing to do.
    if (d?.status !== 'pending') return;
    const log = logger.child({ deliveryId: d.id, webhookId: d.webhookId, event: d.event });
    if (d.webhookDisabled) {
      await repo.abandon(d.id, 'webhook disabled');
      metrics.deliveries.inc({ event: d.event, result: 'failed' });
      return;
    }

    let body = d.payloadText;
    if (body === null) {
      const payload = await buildWebhookPayload(deps.db, d);
      if (payload === null) {
        await repo.abandon(d.id, 'subject no longer exists');
        metrics.deliveries.inc({ event: d.event, result: 'failed' });
        return;
      }
      body = await repo.storePayload(d.id, payload);
      if (body === null) return; // the row vanished meanwhile
    }

    let secret: string;
    try {
      secret = openWebhookSecret(deps.vault, d.webhookId, d.secretCipher);
    } catch (err) {
      // Not transient (HES_DATA_KEY differs from the one that sealed it): retrying cannot help.
      if (!(err instanceof CodeDecryptionError)) throw err;
      await repo.abandon(d.id, 'signing secret cannot be decrypted (HES_DATA_KEY changed?)');
      metrics.deliveries.inc({ event: d.event, result: 'failed' });
      log.error('webhook signing secret cannot be decrypted; delivery abandoned');
      return;
    }
    const headers = signWebhook({
      secret,
      deliveryId: d.id,
      event: d.event,
      rawBody: body,
      timestamp: nowSeconds(),
    });
    const res = await deps.sender.post(d.url, body, { ...headers });
    metrics.duration.observe({ event: d.event }, res.durationMs / 1000);

    const attempt = d.attempts + 1;
    const record = {
      deliveryId: d.id,
      attempt,
      statusCode: res.statusCode,
      error: res.error,
      durationMs: res.durationMs,
    };
    if (res.error === null) {
      await repo.recordAttempt({ ...record, status: 'delivered', nextAttemptAt: null });
      metrics.deliveries.inc({ event: d.event, result: 'delivered' });
      log.info({ attempt, statusCode: res.statusCode, durationMs: res.durationMs }, 'webhook delivered');
      return;
    }

    const gone = res.statusCode === 410;
    const last = gone || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const delayMs = last
      ? 0
      : webhookRetryDelayMs(job.attemptsMade + 1, deps.backoff, deps.random, res.retryAfterMs);
    await repo.recordAttempt({
      ...record,
      status: last ? 'failed' : 'pending',
      nextAttemptAt: last ? null : new Date(Date.now() + delayMs),
    });
    metrics.deliveries.inc({ event: d.event, result: last ? 'failed' : 'retried' });
    log.warn(
      { attempt, statusCode: res.statusCode, error: res.error, retryInMs: last ? null : delayMs },
      last ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry',
    );
    if (gone) {
      await repo.disableWebhook(d.webhookId);
      log.warn('receiver answered 410 Gone: webhook disabled');
      throw new UnrecoverableError('receiver answered 410 Gone');
    }
    if (last) throw new UnrecoverableError(res.error);
    throw new WebhookRetryError(res.error, delayMs);
  };
}

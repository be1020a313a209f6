import type { BatchView } from '../presenters/batch-view.js';
import type { CheckView } from '../presenters/check-view.js';

/** Event types a webhook may subscribe to; `ping` is sent on request to any webhook. */
export const WEBHOOK_EVENTS = ['check.completed', 'batch.completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type WebhookEventType = WebhookEvent | 'ping';

/** pg_notify channel the outbox triggers (and the API's ping/redeliver) signal on. */
export const WEBHOOK_NOTIFY_CHANNEL = 'hes_webhooks';

/** The JSON body of every delivery. `id` is the delivery id (also `Hes-Webhook-Id`): receivers dedupe on it. */
export interface WebhookEnvelope<T extends WebhookEventType = WebhookEventType> {
  id: string;
  type: T;
  createdAt: string;
  data: T extends 'check.completed'
    ? { check: CheckView }
    : T extends 'batch.completed'
      ? { batch: BatchView }
      : { webhookId: string };
}

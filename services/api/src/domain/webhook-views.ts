import type { DeliveryRow, WebhookRow } from '../adapters/webhooks-repository.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A webhook as the API shows it: never its secret (that is shown once, at creation or rotation). */
export function presentWebhook(w: WebhookRow) {
  return {
    id: w.id,
    url: w.url,
    events: w.events as ('check.completed' | 'batch.completed')[],
    rosterId: w.rosterId,
    apiKeyId: w.apiKeyId,
    enabled: w.disabledAt === null,
    createdAt: w.createdAt.toISOString(),
    disabledAt: iso(w.disabledAt),
  };
}

export function presentDelivery(d: DeliveryRow) {
  return {
    id: d.id,
    webhookId: d.webhookId,
    event: d.event as 'check.completed' | 'batch.completed' | 'ping',
    subjectId: d.subjectId,
    status: d.status,
    attemptCount: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    nextAttemptAt: iso(d.nextAttemptAt),
    createdAt: d.createdAt.toISOString(),
    deliveredAt: iso(d.deliveredAt),
    attempts: d.attemptsLog.map((a) => ({
      attempt: a.attempt,
      at: a.at.toISOString(),
      statusCode: a.statusCode,
      error: a.error,
      durationMs: a.durationMs,
    })),
  };
}

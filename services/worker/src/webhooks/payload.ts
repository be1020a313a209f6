import {
  type PrismaClient,
  presentBatch,
  presentCheck,
  type WebhookEnvelope,
  type WebhookEventType,
} from '@hes/core';

export interface PayloadSubject {
  id: string;
  webhookId: string;
  event: WebhookEventType;
  subjectId: string;
  createdAt: Date;
}

/**
 * The event body, built once from PostgreSQL with the API's own presenters: a check carries its masked
 * code only (SPEC §6). Returns null when the subject is gone (purged by retention before delivery).
 */
export async function buildWebhookPayload(
  db: PrismaClient,
  d: PayloadSubject,
): Promise<WebhookEnvelope | null> {
  const head = { id: d.id, createdAt: d.createdAt.toISOString() };
  switch (d.event) {
    case 'check.completed': {
      const row = await db.check.findUnique({ where: { id: d.subjectId } });
      return row ? { ...head, type: d.event, data: { check: presentCheck(row) } } : null;
    }
    case 'batch.completed': {
      const batch = await db.batch.findUnique({ where: { id: d.subjectId } });
      if (!batch) return null;
      const groups = await db.check.groupBy({
        by: ['status', 'outcome'],
        where: { batchId: batch.id },
        _count: { _all: true },
      });
      const counts = groups.map((g) => ({ status: g.status, outcome: g.outcome, count: g._count._all }));
      return { ...head, type: d.event, data: { batch: presentBatch(batch, counts) } };
    }
    case 'ping':
      return { ...head, type: d.event, data: { webhookId: d.webhookId } };
  }
}

import { randomUUID } from 'node:crypto';
import { type PrismaClient, WEBHOOK_NOTIFY_CHANNEL } from '@hes/core';
import type { DeliveryKey } from '../domain/webhook-cursor.js';

export interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  apiKeyId: string | null;
  rosterId: string | null;
  createdAt: Date;
  disabledAt: Date | null;
}

export interface DeliveryRow {
  id: string;
  webhookId: string;
  event: string;
  subjectId: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
  attemptsLog: {
    attempt: number;
    at: Date;
    statusCode: number | null;
    error: string | null;
    durationMs: number;
  }[];
}

/** `null` owner = an admin key, which sees every webhook; otherwise a key sees the webhooks it created. */
export type Owner = string | null;

const WEBHOOK_FIELDS = {
  id: true,
  url: true,
  events: true,
  apiKeyId: true,
  rosterId: true,
  createdAt: true,
  disabledAt: true,
} as const;

const DELIVERY_FIELDS = {
  id: true,
  webhookId: true,
  event: true,
  subjectId: true,
  status: true,
  attempts: true,
  lastStatusCode: true,
  lastError: true,
  nextAttemptAt: true,
  createdAt: true,
  deliveredAt: true,
  attemptsLog: {
    select: { attempt: true, at: true, statusCode: true, error: true, durationMs: true },
    orderBy: { attempt: 'asc' },
  },
} as const;

const scope = (owner: Owner) => (owner === null ? {} : { apiKeyId: owner });

export class WebhooksRepository {
  readonly #db: PrismaClient;

  constructor(db: PrismaClient) {
    this.#db = db;
  }

  create(data: {
    id: string;
    url: string;
    events: string[];
    apiKeyId: string;
    rosterId: string | null;
    secretCipher: Uint8Array<ArrayBuffer>;
  }): Promise<WebhookRow> {
    return this.#db.webhook.create({ data, select: WEBHOOK_FIELDS });
  }

  find(id: string, owner: Owner): Promise<WebhookRow | null> {
    return this.#db.webhook.findFirst({ where: { id, ...scope(owner) }, select: WEBHOOK_FIELDS });
  }

  list(owner: Owner): Promise<WebhookRow[]> {
    return this.#db.webhook.findMany({
      where: scope(owner),
      select: WEBHOOK_FIELDS,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: 1_000,
    });
  }

  /** Deliveries and their attempts go with it (ON DELETE CASCADE); jobs still queued find no row. */
  async delete(id: string, owner: Owner): Promise<boolean> {
    const { count } = await this.#db.webhook.deleteMany({ where: { id, ...scope(owner) } });
    return count > 0;
  }

  async replaceSecret(
    id: string,
    owner: Owner,
    secretCipher: Uint8Array<ArrayBuffer>,
  ): Promise<WebhookRow | null> {
    const { count } = await this.#db.webhook.updateMany({
      where: { id, ...scope(owner) },
      data: { secretCipher },
    });
    return count > 0 ? this.find(id, owner) : null;
  }

  rosterOwner(rosterId: string): Promise<{ apiKeyId: string | null } | null> {
    return this.#db.roster.findUnique({ where: { id: rosterId }, select: { apiKeyId: true } });
  }

  /** Newest first, keyset on (created_at, id) (index webhook_id, created_at). */
  deliveries(
    webhookId: string,
    after: DeliveryKey | null,
    limit: number,
    status?: DeliveryRow['status'],
  ): Promise<DeliveryRow[]> {
    return this.#db.webhookDelivery.findMany({
      where: {
        webhookId,
        ...(status ? { status } : {}),
        ...(after
          ? {
              OR: [
                { createdAt: { lt: after.createdAt } },
                { createdAt: after.createdAt, id: { lt: after.id } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      select: DELIVERY_FIELDS,
    });
  }

  findDelivery(webhookId: string, id: string): Promise<DeliveryRow | null> {
    return this.#db.webhookDelivery.findFirst({ where: { id, webhookId }, select: DELIVERY_FIELDS });
  }

  /**
   * Back to pending and offered to the dispatcher again (NOTIFY at commit). The stored body is kept, so
   * the receiver gets the same bytes with the same Hes-Webhook-Id and can recognise a repeat.
   */
  async redeliver(webhookId: string, id: string): Promise<boolean> {
    // executeRaw: pg_notify returns void, which no client type maps; the count is what matters.
    const n = await this.#db.$executeRaw`
      WITH d AS (
        UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = NULL
        WHERE id = ${id}::uuid AND webhook_id = ${webhookId}::uuid
        RETURNING id)
      SELECT pg_notify(${WEBHOOK_NOTIFY_CHANNEL}, '') FROM d`;
    return n > 0;
  }

  /** A `ping` event through the same outbox, queue and signature as real events. */
  async ping(webhookId: string): Promise<string> {
    const id = randomUUID();
    await this.#db.$executeRaw`
      WITH d AS (
        INSERT INTO webhook_deliveries (id, webhook_id, event, subject_id)
        VALUES (${id}::uuid, ${webhookId}::uuid, 'ping', ${id}::uuid)
        RETURNING id)
      SELECT pg_notify(${WEBHOOK_NOTIFY_CHANNEL}, '') FROM d`;
    return id;
  }
}

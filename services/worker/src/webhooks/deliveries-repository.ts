import type { PrismaClient, WebhookEventType } from '@hes/core';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** An outbox row with what sending it needs. */
export interface DeliveryToSend {
  id: string;
  webhookId: string;
  event: WebhookEventType;
  subjectId: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: Date;
  /** The stored body (jsonb as text), or null before the first attempt. */
  payloadText: string | null;
  url: string;
  secretCipher: Uint8Array;
  webhookDisabled: boolean;
}

export interface AttemptRecord {
  deliveryId: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The row's status after this attempt. */
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

/** Every SQL statement of webhook delivery; the outbox rows themselves are written by triggers. */
export class DeliveriesRepository {
  readonly #db: PrismaClient;

  constructor(db: PrismaClient) {
    this.#db = db;
  }

  /**
   * Pending rows never handed to the queue (next_attempt_at NULL: fresh from a trigger, a ping, a
   * redelivery) or overdue by `staleMs` (their job was lost with Redis or a crashed dispatcher). Marking
   * them now means each row is re-offered at most once per `staleMs`; SKIP LOCKED lets a fleet share it.
   */
  async claimDispatchable(limit: number, staleMs: number): Promise<string[]> {
    const rows = await this.#db.$queryRaw<{ id: string }[]>`
      UPDATE webhook_deliveries SET next_attempt_at = now()
      WHERE id IN (
        SELECT id FROM webhook_deliveries
        WHERE status = 'pending'
          AND (next_attempt_at IS NULL
               OR next_attempt_at < now() - make_interval(secs => ${staleMs / 1000}::float8))
        ORDER BY created_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING id`;
    return rows.map((r) => r.id);
  }

  async find(id: string): Promise<DeliveryToSend | null> {
    const rows = await this.#db.$queryRaw<
      {
        id: string;
        webhook_id: string;
        event: WebhookEventType;
        subject_id: string;
        status: DeliveryStatus;
        attempts: number;
        created_at: Date;
        payload_text: string | null;
        url: string;
        secret_cipher: Uint8Array;
        disabled: boolean;
      }[]
    >`
      SELECT d.id, d.webhook_id, d.event, d.subject_id, d.status::text AS status, d.attempts, d.created_at,
             d.payload::text AS payload_text, w.url, w.secret_cipher, (w.disabled_at IS NOT NULL) AS disabled
      FROM webhook_deliveries AS d JOIN webhooks AS w ON w.id = d.webhook_id
      WHERE d.id = ${id}::uuid`;
    const r = rows[0];
    if (!r) return null;
    return {
      id: r.id,
      webhookId: r.webhook_id,
      event: r.event,
      subjectId: r.subject_id,
      status: r.status,
      attempts: r.attempts,
      createdAt: r.created_at,
      payloadText: r.payload_text,
      url: r.url,
      secretCipher: r.secret_cipher,
      webhookDisabled: r.disabled,
    };
  }

  /**
   * Stores the body on the first attempt and returns it as PostgreSQL prints the jsonb, so every
   * attempt (and a manual redelivery) sends byte-identical text. A concurrent first attempt keeps the
   * body that was stored first.
   */
  async storePayload(id: string, payload: unknown): Promise<string | null> {
    const rows = await this.#db.$queryRaw<{ text: string }[]>`
      UPDATE webhook_deliveries SET payload = COALESCE(payload, ${JSON.stringify(payload)}::jsonb)
      WHERE id = ${id}::uuid
      RETURNING payload::text AS text`;
    return rows[0]?.text ?? null;
  }

  /** The attempt's log row and the delivery's new state, in one statement (one transaction). */
  async recordAttempt(a: AttemptRecord): Promise<void> {
    await this.#db.$executeRaw`
      WITH logged AS (
        INSERT INTO webhook_delivery_attempts (delivery_id, attempt, status_code, error, duration_ms)
        VALUES (${a.deliveryId}::uuid, ${a.attempt}, ${a.statusCode}, ${a.error}, ${a.durationMs})
        RETURNING delivery_id)
      UPDATE webhook_deliveries SET
        attempts = GREATEST(attempts, ${a.attempt}),
        last_status_code = ${a.statusCode},
        last_error = ${a.error},
        status = ${a.status}::"WebhookDeliveryStatus",
        next_attempt_at = ${a.nextAttemptAt},
        delivered_at = CASE WHEN ${a.status} = 'delivered' THEN now() ELSE delivered_at END
      WHERE id IN (SELECT delivery_id FROM logged)`;
  }

  /** Gives up on a delivery without sending (webhook disabled, subject purged). */
  async abandon(id: string, reason: string): Promise<void> {
    await this.#db.$executeRaw`
      UPDATE webhook_deliveries SET status = 'failed', last_error = ${reason}, next_attempt_at = NULL
      WHERE id = ${id}::uuid AND status = 'pending'`;
  }

  /** A receiver answering 410 Gone says the endpoint is retired: stop sending to it. */
  async disableWebhook(webhookId: string): Promise<void> {
    await this.#db.$executeRaw`
      UPDATE webhooks SET disabled_at = now() WHERE id = ${webhookId}::uuid AND disabled_at IS NULL`;
  }

  async pendingCount(): Promise<number> {
    const rows = await this.#db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'pending'`;
    return Number(rows[0]?.n ?? 0);
  }

  /** Finished deliveries (and their attempts, by cascade) older than the retention window; bounded. */
  async purgeFinished(cutoff: Date, limit: number): Promise<number> {
    return this.#db.$executeRaw`
      DELETE FROM webhook_deliveries WHERE id IN (
        SELECT id FROM webhook_deliveries
        WHERE created_at < ${cutoff} AND status <> 'pending'
        LIMIT ${limit})`;
  }
}

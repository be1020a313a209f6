import { createPgPool, type Logger, type PgPool, type PgPoolClient, WEBHOOK_NOTIFY_CHANNEL } from '@hes/core';

export interface OutboxListenerOptions {
  databaseUrl: string;
  onNotify: () => void;
  logger: Logger;
  reconnectDelayMs?: number;
}

/**
 * LISTEN hes_webhooks on a dedicated connection (a pooled one would be handed to other queries). A lost
 * connection is re-opened after a pause; notifications sent meanwhile are covered by the dispatcher's
 * poll, so nothing depends on this being up.
 */
export class OutboxListener {
  readonly #pool: PgPool;
  readonly #opts: OutboxListenerOptions;
  #client: PgPoolClient | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: OutboxListenerOptions) {
    this.#opts = opts;
    this.#pool = createPgPool(opts.databaseUrl, { max: 1, applicationName: 'hes-worker-webhooks' });
    this.#pool.on('error', () => undefined); // reported through the client's own error handler
  }

  start(): void {
    void this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let client: PgPoolClient | null = null;
    try {
      client = await this.#pool.connect();
      client.on('notification', (msg) => {
        if (msg.channel === WEBHOOK_NOTIFY_CHANNEL) this.#opts.onNotify();
      });
      client.on('error', (err) => this.#lost(client, err));
      await client.query(`LISTEN ${WEBHOOK_NOTIFY_CHANNEL}`);
      if (this.#closed) {
        client.release(true);
        return;
      }
      this.#client = client;
      // Rows committed while we were not listening.
      this.#opts.onNotify();
    } catch (err) {
      this.#lost(client, err);
    }
  }

  #lost(client: PgPoolClient | null, err: unknown): void {
    if (client) {
      if (this.#client === client) this.#client = null;
      try {
        client.release(true);
      } catch {
        // already released
      }
    }
    if (this.#closed || this.#timer) return;
    this.#opts.logger.warn({ err }, 'webhook outbox listener lost its PostgreSQL connection; reconnecting');
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, this.#opts.reconnectDelayMs ?? 2_000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    if (client) {
      await client.query(`UNLISTEN ${WEBHOOK_NOTIFY_CHANNEL}`).catch(() => undefined);
      client.release(true);
    }
    await this.#pool.end().catch(() => undefined);
  }
}

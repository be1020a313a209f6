import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeliveryResult = 'delivered' | 'retried' | 'failed';

/** Webhook metrics on the worker's registry (README "Metrics"). */
export class WebhookMetrics {
  readonly deliveries: Counter<'event' | 'result'>;
  readonly duration: Histogram<'event'>;

  constructor(registry: Registry, pendingCount: () => Promise<number>) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: 'hes_webhook_deliveries_total',
      help: 'Webhook delivery attempts by event and result (delivered, retried, failed = given up)',
      labelNames: ['event', 'result'],
      registers,
    });
    this.duration = new Histogram({
      name: 'hes_webhook_delivery_duration_seconds',
      help: 'Duration of one webhook POST, until the response headers or the failure',
      labelNames: ['event'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'hes_webhook_deliveries_pending',
      help: 'Webhook deliveries not yet delivered nor given up (outbox rows in status pending)',
      registers,
      async collect() {
        const n = await pendingCount().catch(() => null);
        if (n !== null) this.set(n);
      },
    });
  }
}

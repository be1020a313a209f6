import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { IntakeMetrics } from '../domain/intake-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
    intakeMetrics: IntakeMetrics;
  }
}

/**
 * Prometheus metrics on a registry of this app (no global default registry: two apps in one test
 * process must not collide). Labels are bounded sets: route templates, kinds, problem codes — never a
 * HES code, API key or reference.
 */
export default fp<{ registry?: Registry | undefined }>(
  async function metrics(app: FastifyInstance, opts) {
    const registry = opts.registry ?? new Registry();
    collectDefaultMetrics({ register: registry });

    const duration = new Histogram({
      name: 'hes_api_http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    const accepted = new Counter({
      name: 'hes_api_checks_accepted_total',
      help: 'Checks stored and queued for the Ministry, by kind and source (single|batch)',
      labelNames: ['kind', 'source'] as const,
      registers: [registry],
    });
    const rejected = new Counter({
      name: 'hes_api_checks_rejected_total',
      help: 'Checks not sent upstream, by reason (a problem code; roster INVALID rows count as INVALID_HES_CODE)',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    const enqueueFailures = new Counter({
      name: 'hes_api_enqueue_failures_total',
      help: 'Stored checks whose job could not be enqueued (Redis unavailable); the reconciler re-drives them',
      labelNames: ['source'] as const,
      registers: [registry],
    });

    app.decorate('metricsRegistry', registry);
    app.decorate('intakeMetrics', {
      accepted: (kind, source, count) => accepted.inc({ kind, source }, count),
      rejected: (reason, count) => rejected.inc({ reason }, count),
      enqueueFailed: (source) => enqueueFailures.inc({ source }),
    } satisfies IntakeMetrics);

    app.addHook('onResponse', async (request, reply) => {
      duration.observe(
        {
          method: request.method,
          // The template ("/v1/checks/:id"), never the concrete URL; unmatched URLs share one label.
          route: request.routeOptions.url ?? 'unmatched',
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1_000,
      );
    });
  },
  { name: 'metrics' },
);

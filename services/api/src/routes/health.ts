import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HealthSchema, ReadinessSchema } from '../schemas/health.js';

const PROBE_TIMEOUT_MS = 1_000;

interface Probe {
  status: 'ok' | 'failed';
  latencyMs: number;
  error?: string;
}

/** Runs `fn` with a deadline; failures are reported by kind only (this endpoint is public). */
async function probe(fn: () => Promise<unknown>): Promise<Probe> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS);
      }),
    ]);
    return { status: 'ok', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    const error = err instanceof Error && err.message === 'timeout' ? 'timeout' : 'unreachable';
    return { status: 'failed', latencyMs: Math.round(performance.now() - started), error };
  } finally {
    clearTimeout(timer);
  }
}

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        security: [],
        response: { 200: HealthSchema },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: PostgreSQL (SELECT 1) and Redis (PING) answer within 1 s',
        security: [],
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (request, reply) => {
      const [postgres, redis] = await Promise.all([
        probe(() => app.prisma.$queryRaw`SELECT 1`),
        probe(() => app.redis.ping()),
      ]);
      const ok = postgres.status === 'ok' && redis.status === 'ok';
      if (!ok) request.log.warn({ postgres, redis }, 'not ready');
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', checks: { postgres, redis } });
    },
  );
};

export default health;

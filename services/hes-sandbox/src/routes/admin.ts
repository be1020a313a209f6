import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { FaultInjector } from '../faults.js';
import type { SandboxStats } from '../stats.js';

export const ADMIN_PREFIX = '/__sandbox';

export interface AdminRoutesOptions {
  stats: SandboxStats;
  faults: FaultInjector;
  startedAt: Date;
}

const statsQuery = z.object({ windowMs: z.coerce.number().int().min(1).max(3_600_000).optional() });

function invalid(path: string, error: z.ZodError) {
  return {
    title: 'Bad Request',
    status: 400,
    detail: z.prettifyError(error),
    path,
    issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  };
}

/**
 * Development controls, deliberately without authentication: the sandbox is a dev/test tool and must
 * never be exposed where the Ministry's real clients could reach it.
 */
export async function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions): Promise<void> {
  const { stats, faults, startedAt } = options;

  app.get('/health', async () => ({
    status: 'ok',
    startedAt: startedAt.toISOString(),
    uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
  }));

  /** `?windowMs=N` adds the most arrivals (all, and accepted only) seen within any N ms. */
  app.get('/stats', async (request, reply) => {
    const query = statsQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send(invalid(request.url, query.error));
    const snapshot = stats.snapshot();
    const windowMs = query.data.windowMs;
    if (windowMs === undefined) return snapshot;
    return {
      ...snapshot,
      maxInWindow: {
        windowMs,
        all: stats.maxInWindow(windowMs, 'all'),
        accepted: stats.maxInWindow(windowMs, 'accepted'),
      },
    };
  });

  app.post('/stats/reset', async (_request, reply) => {
    stats.reset();
    return reply.code(204).send();
  });

  app.get('/faults', async () => faults.config);

  app.put('/faults', async (request, reply) => {
    try {
      const config = faults.update(request.body ?? {});
      request.log.info({ faults: config }, 'fault injection updated');
      return config;
    } catch (error) {
      if (error instanceof z.ZodError) return reply.code(400).send(invalid(request.url, error));
      throw error;
    }
  });

  /** Back to the faults the sandbox was started with. */
  app.delete('/faults', async (request) => {
    const config = faults.restore();
    request.log.info({ faults: config }, 'fault injection restored');
    return config;
  });
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiConfig } from './config.js';
import type { AppDeps } from './deps.js';
import authPlugin from './plugins/auth.js';
import dbPlugin from './plugins/db.js';
import eventsPlugin from './plugins/events.js';
import metricsPlugin from './plugins/metrics.js';
import openapiPlugin from './plugins/openapi.js';
import problemErrorsPlugin from './plugins/problem-errors.js';
import queuePlugin from './plugins/queue.js';
import { validatorCompiler } from './plugins/validation.js';
import vaultPlugin from './plugins/vault.js';
import healthRoutes from './routes/health.js';
import metricsRoutes from './routes/metrics.js';
import batchRoutes from './routes/v1/batches.js';
import checkRoutes from './routes/v1/checks.js';

export type { AppDeps } from './deps.js';

declare module 'fastify' {
  interface FastifyInstance {
    apiConfig: ApiConfig;
  }
}

/** The app as a plugin (no listen): external plugins, own decorators, then routes (fastify/demo order). */
export async function serviceApp(app: FastifyInstance, deps: AppDeps) {
  const { config } = deps;
  app.decorate('apiConfig', config);

  await app.register(openapiPlugin);

  await app.register(problemErrorsPlugin);
  await app.register(metricsPlugin, { registry: deps.registry });
  await app.register(dbPlugin, { prisma: deps.prisma, databaseUrl: config.gateway.databaseUrl });
  await app.register(queuePlugin, {
    queue: deps.queue,
    redis: deps.redis,
    maxAttempts: config.gateway.hes.maxAttempts,
    backoffBaseMs: config.gateway.hes.backoffBaseMs,
  });
  await app.register(vaultPlugin, { dataKey: config.gateway.dataKey });
  await app.register(eventsPlugin, { events: deps.events });
  await app.register(authPlugin, { admission: deps.admission });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(checkRoutes, { prefix: '/v1' });
  await app.register(batchRoutes, { prefix: '/v1' });
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** A caller's x-request-id is kept when it looks like an id (it is logged and stored), else we mint one. */
export function requestIdOf(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

export type ServerOptions = Pick<
  FastifyServerOptions,
  'loggerInstance' | 'logger' | 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout' | 'pluginTimeout'
>;

/** Builds the Fastify instance and registers the app; the caller decides whether to listen or inject. */
export async function buildApp(deps: AppDeps, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.loggerInstance ? {} : { logger: options.logger ?? false }),
    ...options,
    bodyLimit: deps.config.bodyLimitBytes,
    genReqId: requestIdOf,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // JSON bodies only (CSV is added for POST /v1/batches alone): anything else is 415, not a schema error.
  app.removeContentTypeParser('text/plain');
  await app.register(fp(serviceApp, { name: 'hes-api' }), deps);
  return app as unknown as FastifyInstance;
}

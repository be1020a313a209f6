import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiConfig } from './config.js';
import type { AppDeps } from './deps.js';
import authPlugin from './plugins/auth.js';
import corsPlugin from './plugins/cors.js';
import csvGuardPlugin from './plugins/csv-guard.js';
import dbPlugin from './plugins/db.js';
import eventsPlugin from './plugins/events.js';
import metricsPlugin from './plugins/metrics.js';
import openapiPlugin from './plugins/openapi.js';
import problemErrorsPlugin, { frameworkErrors, redactedPath } from './plugins/problem-errors.js';
import queuePlugin from './plugins/queue.js';
import rateLimitPlugin from './plugins/rate-limit.js';
import securityHeadersPlugin from './plugins/security-headers.js';
import { validatorCompiler } from './plugins/validation.js';
import vaultPlugin from './plugins/vault.js';
import consoleRoutes from './routes/console.js';
import healthRoutes from './routes/health.js';
import metricsRoutes from './routes/metrics.js';
import batchRoutes from './routes/v1/batches.js';
import checkRoutes from './routes/v1/checks.js';
import rosterRoutes from './routes/v1/rosters.js';
import webhookRoutes from './routes/v1/webhooks.js';

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

  await app.register(securityHeadersPlugin);
  await app.register(corsPlugin, { origins: config.corsOrigins });
  await app.register(openapiPlugin);

  await app.register(problemErrorsPlugin);
  await app.register(csvGuardPlugin);
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
  await app.register(rateLimitPlugin, {
    redis: deps.redis,
    prefix: config.gateway.redisPrefix,
    rps: config.keyRateLimit.rps,
    burst: config.keyRateLimit.burst,
  });
  const extraAdmission = deps.admission;
  await app.register(authPlugin, {
    admission: async (principal, request) => {
      await app.keyRateLimit(principal, request);
      await extraAdmission?.(principal, request);
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(checkRoutes, { prefix: '/v1' });
  await app.register(batchRoutes, { prefix: '/v1' });
  await app.register(rosterRoutes, { prefix: '/v1' });
  await app.register(webhookRoutes, { prefix: '/v1' });
  await app.register(consoleRoutes);
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** A caller's x-request-id is kept when it looks like an id (it is logged and stored), else we mint one. */
export function requestIdOf(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * How a request appears in every log line: the path redacted like a problem's `instance` and no query
 * string, because a client may put a HES code (or a person's reference) in either.
 */
function logRequest(req: { method?: string; url?: string; host?: string; ip?: string }) {
  return { method: req.method, url: redactedPath(req.url ?? '/'), host: req.host, remoteAddress: req.ip };
}

export type ServerOptions = Pick<
  FastifyServerOptions,
  'loggerInstance' | 'logger' | 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout' | 'pluginTimeout'
> & {
  /** Node's `server.headersTimeout`: how long the request line and headers may take to arrive. */
  headersTimeout?: number;
  /** How often Node enforces the request and headers timeouts (its default is 30 s; tests shorten it). */
  connectionsCheckingInterval?: number;
};

/** The listener's timeouts from the configuration (server.ts; tests that listen use it too). */
export function serverTimeouts(config: ApiConfig): ServerOptions {
  return {
    requestTimeout: config.timeouts.requestMs,
    headersTimeout: config.timeouts.headersMs,
    connectionTimeout: config.timeouts.connectionMs,
    keepAliveTimeout: config.timeouts.keepAliveMs,
  };
}

/** Builds the Fastify instance and registers the app; the caller decides whether to listen or inject. */
export async function buildApp(deps: AppDeps, options: ServerOptions = {}): Promise<FastifyInstance> {
  const { headersTimeout, connectionsCheckingInterval, ...fastifyOptions } = options;
  const app = Fastify({
    http: {
      ...(headersTimeout !== undefined ? { headersTimeout } : {}),
      ...(connectionsCheckingInterval !== undefined ? { connectionsCheckingInterval } : {}),
    },
    ...(fastifyOptions.loggerInstance ? {} : { logger: fastifyOptions.logger ?? false }),
    ...fastifyOptions,
    bodyLimit: deps.config.bodyLimitBytes,
    genReqId: requestIdOf,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    return503OnClosing: true,
    frameworkErrors,
    childLoggerFactory(logger, bindings, childOptions) {
      return logger.child(bindings, {
        ...childOptions,
        serializers: { ...childOptions.serializers, req: logRequest },
      });
    },
    forceCloseConnections: 'idle',
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // JSON bodies only (CSV is added for POST /v1/batches alone): anything else is 415, not a schema error.
  app.removeContentTypeParser('text/plain');
  await app.register(fp(serviceApp, { name: 'hes-api' }), deps);
  return app as unknown as FastifyInstance;
}

import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { basicAuthChecker } from './auth.js';
import { Delays } from './delays.js';
import { type FaultConfig, FaultInjector } from './faults.js';
import { badRequest, internalError, notFound, payloadTooLarge } from './problems.js';
import { ADMIN_PREFIX, adminRoutes } from './routes/admin.js';
import { ministryRoutes } from './routes/ministry.js';
import { SandboxStats } from './stats.js';

export interface SandboxAppOptions {
  /** The only credentials accepted (HTTP Basic). */
  username: string;
  password: string;
  /** Fault injection at start; everything not given is off. */
  faults?: Partial<FaultConfig>;
  /** A pino/Fastify logger, true for Fastify's default, false (default) for none. */
  logger?: FastifyBaseLogger | boolean;
  /** Monotonic clock in ms for the rate limit and the peak statistics (tests inject one). */
  now?: () => number;
  /** Replaces the fault PRNG (tests). */
  random?: () => number;
  /** Wall clock for firstRequestAt/lastRequestAt. */
  wallClock?: () => Date;
  /** Arrival times kept for maxInWindow (per kind); default 100 000. */
  arrivalHistory?: number;
}

export interface SandboxHandles {
  stats: SandboxStats;
  faults: FaultInjector;
}

export type SandboxApp = FastifyInstance & { readonly sandbox: SandboxHandles };

// Rosters of 500 codes are ~15 kB; the headroom lets a client's oversized call reach the 500-code
// check (and show up in the stats) instead of failing on the body limit.
const BODY_LIMIT = 10 * 1024 * 1024;

const isAdmin = (request: FastifyRequest): boolean => request.url.startsWith(`${ADMIN_PREFIX}/`);
const pathOf = (request: FastifyRequest): string => request.url.split('?')[0] ?? request.url;

/**
 * The Ministry API emulator as a Fastify instance that is not yet listening (main.ts listens; tests
 * listen on port 0). It never reads the environment: everything comes in through `options`.
 */
export function buildSandboxApp(options: SandboxAppOptions): SandboxApp {
  const logger = options.logger ?? false;
  const common = {
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: BODY_LIMIT,
    // One debug line per request (onResponse below) instead of Fastify's two info lines.
    logController: new LogController({ disableRequestLogging: true }),
  };
  const app: FastifyInstance =
    typeof logger === 'boolean'
      ? Fastify({ ...common, logger })
      : Fastify({ ...common, loggerInstance: logger });

  const now = options.now ?? (() => performance.now());
  const stats = new SandboxStats({
    ...(options.wallClock ? { wallClock: options.wallClock } : {}),
    ...(options.arrivalHistory ? { arrivalHistory: options.arrivalHistory } : {}),
  });
  const faults = new FaultInjector(options.faults, options.random ? { random: options.random } : {});
  const delays = new Delays();
  const checkAuth = basicAuthChecker(options.username, options.password);
  const arrivals = new WeakMap<FastifyRequest, number>();

  app.decorate('sandbox', { stats, faults } satisfies SandboxHandles);

  // First hook: stamp the arrival time once, so the rate limiter and the peak statistics agree.
  app.addHook('onRequest', async (request) => {
    if (isAdmin(request)) return;
    const arrival = now();
    arrivals.set(request, arrival);
    stats.recordArrival(arrival);
  });

  app.addHook('onSend', async (request, reply) => {
    if (!isAdmin(request)) stats.recordStatus(reply.statusCode);
    // An answer finished during close() must not leave a keep-alive connection that holds close() open.
    if (delays.cancelled) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    if (isAdmin(request)) return;
    request.log.debug(
      {
        method: request.method,
        path: pathOf(request),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'served',
    );
  });

  app.addHook('preClose', async () => delays.cancelAll());

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.code(413).send(payloadTooLarge(pathOf(request)));
    // Malformed JSON, an empty body, an unsupported media type: a client error, always 400 here.
    if (status >= 400 && status < 500) {
      return reply.code(400).send(badRequest(pathOf(request), error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(internalError(pathOf(request)));
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send(notFound(request.method, pathOf(request))));

  void app.register(ministryRoutes, {
    stats,
    faults,
    delays,
    checkAuth,
    arrivalOf: (request) => arrivals.get(request) ?? now(),
  });
  void app.register(adminRoutes, { prefix: ADMIN_PREFIX, stats, faults, startedAt: new Date() });

  return app as SandboxApp;
}

export { loadSandboxConfig, SandboxConfigError } from './config.js';
export type {
  BusinessErrorBody,
  BusinessErrorKey,
  SandboxBulkResponse,
  SandboxCheckResult,
  SandboxDateFormat,
  SandboxOutcome,
  SandboxPlusProfile,
  SandboxPlusResult,
  WireBoolean,
} from './dataset.js';
export {
  businessErrorBody,
  generateSandboxCodes,
  SANDBOX_FIRST_NAMES,
  SANDBOX_LAST_NAMES,
  sandboxBulkResponseFor,
  sandboxDateFormatFor,
  sandboxErrorKeyFor,
  sandboxExpirationFor,
  sandboxIdentityLast3,
  sandboxOutcomeFor,
  sandboxPlusProfileFor,
  sandboxResponseFor,
  sandboxResultFor,
} from './dataset.js';
export { FAULTS_OFF, type FaultConfig } from './faults.js';
export { maskHesCode, normaliseHesCode } from './hes-code.js';
export { createSandboxLogger } from './logger.js';
export { BULK_LIMIT, LIVE_PREFIX, TEST_PREFIX } from './routes/ministry.js';
export { SANDBOX_ENDPOINTS, type SandboxEndpoint, type SandboxStatsSnapshot } from './stats.js';

import {
  CheckEventHub,
  type ChecksQueue,
  ConfigError,
  createLogger,
  createPrisma,
  createRedis,
  QUEUES,
} from '@hes/core';
import { Queue } from 'bullmq';
import { buildApp, serverTimeouts } from './app.js';
import { type ApiConfig, loadApiConfig } from './config.js';

/** Entry point: config, logger, app, timeouts, graceful close, listen. Everything else lives in app.ts. */
let config: ApiConfig;
try {
  config = loadApiConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
const log = createLogger({ name: 'hes-api', level: config.gateway.logLevel, pretty: config.logPretty });
if (config.gateway.dataKeyIsDevDefault) log.warn('HES_DATA_KEY is not set: using the development data key');

const prisma = createPrisma(config.gateway.databaseUrl, {
  connectionTimeoutMillis: 3_000,
  applicationName: 'hes-api',
});
// failFast: with Redis down, enqueueing fails at once (the check is stored; the reconciler re-drives it).
const redis = createRedis(config.gateway.redisUrl, { name: 'hes-api', failFast: true });
const subscriber = createRedis(config.gateway.redisUrl, { name: 'hes-api-events' });
for (const [name, conn] of [
  ['redis', redis],
  ['redis-events', subscriber],
] as const) {
  conn.on('error', (err) =>
    log.warn(
      { err: { message: err.message, code: (err as { code?: string }).code }, connection: name },
      'redis error',
    ),
  );
}
const queue: ChecksQueue = new Queue(QUEUES.checks, {
  connection: redis,
  prefix: config.gateway.redisPrefix,
});
queue.on('error', (err) => log.warn({ err }, 'queue error'));
const events = new CheckEventHub(subscriber, config.gateway.redisPrefix);

const app = await buildApp(
  { config, prisma, queue, redis, events },
  // API_REQUEST_TIMEOUT_MS, API_HEADERS_TIMEOUT_MS, API_CONNECTION_TIMEOUT_MS, API_KEEP_ALIVE_TIMEOUT_MS.
  { loggerInstance: log, ...serverTimeouts(config) },
);

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    log.error('graceful shutdown timed out');
    process.exit(1);
  }, 30_000);
  force.unref();
  try {
    // In-flight requests finish first (`?wait=` ones answer 202 at once), then the connections go.
    await app.close();
    await queue.close();
    await events.close();
    await redis.quit().catch(() => redis.disconnect());
    await prisma.$disconnect();
    log.info('stopped');
    process.exit(0);
  } catch (err) {
    log.error({ err }, 'error during shutdown');
    process.exit(1);
  }
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

try {
  await app.listen({ port: config.port, host: config.host });
} catch (err) {
  log.fatal({ err }, 'could not start');
  process.exit(1);
}

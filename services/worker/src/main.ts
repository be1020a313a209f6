import type { AddressInfo } from 'node:net';
import { ConfigError, createLogger, createPrisma } from '@hes/core';
import { startMetricsServer } from './adapters/metrics-server.js';
import { loadWorkerConfig, type WorkerConfig } from './config.js';
import { createWorkerRuntime } from './create-worker-runtime.js';

/**
 * The worker process: config once, then the runtime (BullMQ workers, limiter, reconciler), the metrics
 * server, and graceful shutdown: the first SIGTERM/SIGINT lets requests in flight finish and returns
 * waiting jobs to the queue; a second signal aborts what is still running.
 */
async function main(): Promise<void> {
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const { gateway } = config;
  const logger = createLogger({ name: 'hes-worker', level: gateway.logLevel, pretty: gateway.logPretty });
  if (gateway.dataKeyIsDevDefault) {
    logger.warn('HES_DATA_KEY is not set: using the development key (pending codes are not secret)');
  }
  const prisma = createPrisma(gateway.databaseUrl, {
    max: config.concurrency + 4,
    applicationName: 'hes-worker',
  });
  const runtime = await createWorkerRuntime({ config, prisma, logger });
  const server = await startMetricsServer(runtime.metrics.registry, config.metricsPort);
  logger.info(
    {
      concurrency: config.concurrency,
      rateLimitRps: gateway.hes.rateLimitRps,
      metricsPort: (server.address() as AddressInfo).port,
      upstream: new URL(gateway.hes.baseUrl).origin,
    },
    'worker started',
  );

  let signals = 0;
  const shutdown = async (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: aborting jobs in flight');
      await runtime.close({ force: true }).catch(() => undefined);
      process.exit(1);
    }
    logger.info(
      { signal },
      'shutting down: finishing requests in flight, returning waiting jobs to the queue',
    );
    try {
      await runtime.close();
      server.close();
      await prisma.$disconnect();
      logger.info('worker stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (s) => void shutdown(s));
  process.on('SIGINT', (s) => void shutdown(s));
}

main().catch((err) => {
  console.error('worker failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});

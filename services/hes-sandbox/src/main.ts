import { buildSandboxApp } from './app.js';
import { loadSandboxConfig, SandboxConfigError } from './config.js';
import { createSandboxLogger } from './logger.js';
import { LIVE_PREFIX, TEST_PREFIX } from './routes/ministry.js';

/** `pnpm start:sandbox`: read the environment once, listen, close gracefully on SIGTERM/SIGINT. */
const CLOSE_TIMEOUT_MS = 10_000;

let config: ReturnType<typeof loadSandboxConfig>;
try {
  config = loadSandboxConfig(process.env);
} catch (error) {
  if (!(error instanceof SandboxConfigError)) throw error;
  console.error(`hes-sandbox: ${error.message}`);
  process.exit(1);
}

const logger = createSandboxLogger({ level: config.logLevel, pretty: config.logPretty });
const app = buildSandboxApp({
  username: config.username,
  password: config.password,
  faults: config.faults,
  logger,
});

let closing = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (closing) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  closing = true;
  logger.info({ signal }, 'closing');
  const timer = setTimeout(() => {
    logger.error({ timeoutMs: CLOSE_TIMEOUT_MS }, 'close timed out: exiting');
    process.exit(1);
  }, CLOSE_TIMEOUT_MS);
  timer.unref();
  await app.close();
  logger.info('closed');
  process.exit(0);
}
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));

try {
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info(
    {
      live: `${address}${LIVE_PREFIX}`,
      test: `${address}${TEST_PREFIX}`,
      admin: `${address}/__sandbox/stats`,
      faults: config.faults,
    },
    'HES sandbox listening',
  );
} catch (error) {
  logger.fatal({ err: error }, 'could not start');
  process.exit(1);
}

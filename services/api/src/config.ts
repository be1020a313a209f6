import { type GatewayConfig, int, loadGatewayConfig, parseEnv, z } from '@hes/core';

/** Settings only the API reads (SPEC §7 plus the intake limits), parsed once at boot. */
const schema = z.object({
  PORT: int(3000, 0, 65_535),
  HOST: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('0.0.0.0')),
  /** JSON and CSV rosters: 100 000 items with references fit comfortably in 16 MiB. */
  API_BODY_LIMIT_BYTES: int(16 * 1024 * 1024, 1024, 512 * 1024 * 1024),
  /** Upper bound of `?wait=` on POST /v1/checks (SPEC §4: at most 10 s). */
  API_WAIT_MAX_MS: int(10_000, 0, 10_000),
  BATCH_MAX_ITEMS: int(100_000, 1, 1_000_000),
  LOG_PRETTY: z.preprocess((v) => (v === '' || v === undefined ? 'false' : v), z.enum(['true', 'false'])),
});

export interface ApiConfig {
  gateway: GatewayConfig;
  port: number;
  host: string;
  bodyLimitBytes: number;
  waitMaxMs: number;
  batchMaxItems: number;
  logPretty: boolean;
}

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const gateway = loadGatewayConfig(env);
  const e = parseEnv(schema, env);
  return {
    gateway,
    port: e.PORT,
    host: e.HOST,
    bodyLimitBytes: e.API_BODY_LIMIT_BYTES,
    waitMaxMs: e.API_WAIT_MAX_MS,
    batchMaxItems: e.BATCH_MAX_ITEMS,
    logPretty: e.LOG_PRETTY === 'true',
  };
}

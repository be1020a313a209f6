import { type GatewayConfig, int, loadGatewayConfig, num, parseEnv, z } from '@hes/core';

/** An origin as browsers send it: scheme, host, optional port, nothing else. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

/** Settings only the API reads (SPEC §7 plus the intake limits), parsed once at boot. */
const schema = z
  .object({
    PORT: int(3000, 0, 65_535),
    HOST: z.preprocess((v) => (v === '' ? undefined : v), z.string().default('0.0.0.0')),
    /** JSON and CSV rosters: 100 000 items with references fit comfortably in 16 MiB. */
    API_BODY_LIMIT_BYTES: int(16 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    /** Upper bound of `?wait=` on POST /v1/checks (SPEC §4: at most 10 s). */
    API_WAIT_MAX_MS: int(10_000, 0, 10_000),
    BATCH_MAX_ITEMS: int(100_000, 1, 1_000_000),
    LOG_PRETTY: z.preprocess((v) => (v === '' || v === undefined ? 'false' : v), z.enum(['true', 'false'])),
    /** Sustained requests per second per API key, shared by every API instance; 0 turns the limit off. */
    API_KEY_RATE_LIMIT_RPS: num(200, 0, 1_000_000),
    /** Requests a key may send at once above the sustained rate. */
    API_KEY_RATE_LIMIT_BURST: int(400, 1, 10_000_000),
    /** Comma-separated browser origins allowed by CORS; empty (the default) allows none. */
    API_CORS_ORIGINS: z.preprocess(
      (v) => (typeof v === 'string' ? v : ''),
      z
        .string()
        .transform((s) =>
          s
            .split(',')
            .map((o) => o.trim())
            .filter((o) => o !== ''),
        )
        .pipe(z.array(z.string().regex(ORIGIN, 'each origin must look like https://host[:port]'))),
    ),
    /** Whole request, body included: large CSV rosters over slow links still fit, slowloris does not. */
    API_REQUEST_TIMEOUT_MS: int(120_000, 1_000, 3_600_000),
    /** Time to receive the request headers. */
    API_HEADERS_TIMEOUT_MS: int(30_000, 1_000, 3_600_000),
    /** Socket inactivity; above `?wait=`'s 10 s so a waiting turnstile is never cut off. */
    API_CONNECTION_TIMEOUT_MS: int(60_000, 11_000, 3_600_000),
    /** Above common load-balancer idle timeouts, so the balancer closes idle connections first. */
    API_KEEP_ALIVE_TIMEOUT_MS: int(72_000, 1_000, 3_600_000),
    /** Plain-http webhook URLs (local receivers in development and tests); https only otherwise. */
    WEBHOOK_ALLOW_HTTP: z.preprocess(
      (v) => (v === '' || v === undefined ? 'false' : v),
      z.enum(['true', 'false', '1', '0']),
    ),
  })
  .refine((e) => e.API_HEADERS_TIMEOUT_MS <= e.API_REQUEST_TIMEOUT_MS, {
    path: ['API_HEADERS_TIMEOUT_MS'],
    message: 'must not exceed API_REQUEST_TIMEOUT_MS',
  });

export interface ApiConfig {
  gateway: GatewayConfig;
  port: number;
  host: string;
  bodyLimitBytes: number;
  waitMaxMs: number;
  batchMaxItems: number;
  logPretty: boolean;
  /** Per-key admission; `rps` 0 means unlimited. */
  keyRateLimit: { rps: number; burst: number };
  corsOrigins: readonly string[];
  timeouts: {
    requestMs: number;
    headersMs: number;
    connectionMs: number;
    keepAliveMs: number;
  };
  /** Whether webhook URLs may use plain http (WEBHOOK_ALLOW_HTTP). */
  webhookAllowHttp: boolean;
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
    keyRateLimit: { rps: e.API_KEY_RATE_LIMIT_RPS, burst: e.API_KEY_RATE_LIMIT_BURST },
    corsOrigins: e.API_CORS_ORIGINS,
    timeouts: {
      requestMs: e.API_REQUEST_TIMEOUT_MS,
      headersMs: e.API_HEADERS_TIMEOUT_MS,
      connectionMs: e.API_CONNECTION_TIMEOUT_MS,
      keepAliveMs: e.API_KEEP_ALIVE_TIMEOUT_MS,
    },
    webhookAllowHttp: e.WEBHOOK_ALLOW_HTTP === 'true' || e.WEBHOOK_ALLOW_HTTP === '1',
  };
}

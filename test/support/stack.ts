/**
 * The whole gateway for end-to-end tests: the sandbox Ministry on a random port, a private database and
 * Redis prefix, the real API app (in-process, over `inject`) and real workers — in-process runtimes or
 * child processes started exactly as in production (`services/worker/src/main.ts`, environment only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { buildApp } from '@hes/api';
import { CheckEventHub, type ChecksQueue, createApiKey, createLogger, createRedis, QUEUES } from '@hes/core';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@hes/core/testing';
import { buildSandboxApp, type FaultConfig, type SandboxApp } from '@hes/sandbox';
import { createWorkerRuntime, loadWorkerConfig, type WorkerRuntime } from '@hes/worker';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { loadApiConfig } from '../../services/api/src/config.js';
import { startMetricsServer } from '../../services/worker/src/adapters/metrics-server.js';

export { waitFor };

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USERNAME = 'e2e-institution';
const PASSWORD = 'e2e-secret';

export interface StackOptions {
  faults?: Partial<FaultConfig>;
  /** Extra gateway environment (SPEC §7 variables) for the API and every worker. */
  env?: Record<string, string>;
}

export interface Stack {
  sandbox: SandboxApp;
  db: TestDatabase;
  redis: TestRedis;
  api: FastifyInstance;
  queue: ChecksQueue;
  key: string;
  headers: Record<string, string>;
  /** Every log line written by the API, in-process workers and child workers. */
  logs: string[];
  env: Record<string, string>;
  /** Makes the API listen on a free port (as the container does on 3000); returns its base URL. */
  listen(): Promise<string>;
  startWorker(env?: Record<string, string>, options?: { maintenance?: boolean }): Promise<WorkerRuntime>;
  /** Serves a worker's registry on a free port (as WORKER_METRICS_PORT does); returns its base URL. */
  serveWorkerMetrics(runtime: WorkerRuntime): Promise<string>;
  spawnWorker(env?: Record<string, string>): ChildProcess;
  /**
   * Starts the API as its own process (`services/api/src/server.ts`, as production does) on a free port,
   * its stdout and stderr captured into `logs` like a spawned worker's; resolves once /healthz answers.
   */
  spawnApi(env?: Record<string, string>): Promise<{ child: ChildProcess; url: string }>;
  close(): Promise<void>;
}

/**
 * Collects whole lines. A child's pipe delivers chunks that may end mid-line, so the unfinished tail is
 * held until its newline (or the end of the stream): a code split across two chunks is still one line
 * for the leak scan.
 */
class LineSink extends Writable {
  #partial = '';
  constructor(private readonly lines: string[]) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void) {
    const parts = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) if (line) this.lines.push(line);
    cb();
  }
  override _final(cb: () => void) {
    if (this.#partial) this.lines.push(this.#partial);
    this.#partial = '';
    cb();
  }
}

export async function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const logs: string[] = [];
  const sink = new LineSink(logs);
  const sandbox = buildSandboxApp({ username: USERNAME, password: PASSWORD, faults: options.faults ?? {} });
  await sandbox.listen({ port: 0, host: '127.0.0.1' });
  const address = sandbox.server.address();
  if (address === null || typeof address === 'string') throw new Error('sandbox has no port');
  const db = await createTestDatabase(`e2e-${label}`);
  const redis = await createTestRedis(`e2e-${label}`);

  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    HES_BASE_URL: `http://127.0.0.1:${address.port}/services/g2g/test/saglik/hes/`,
    HES_USERNAME: USERNAME,
    HES_PASSWORD: PASSWORD,
    HES_DATA_KEY: randomBytes(32).toString('base64'),
    HES_RATE_LIMIT_RPS: '50',
    HES_BACKOFF_BASE_MS: '50',
    HES_BACKOFF_MAX_MS: '500',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    ...options.env,
  };

  const apiConfig = loadApiConfig(env);
  const queue: ChecksQueue = new Queue(QUEUES.checks, { connection: redis.connection, prefix: redis.prefix });
  const events = new CheckEventHub(createRedis(redis.url, { name: `e2e-${label}-events` }), redis.prefix);
  const apiLogger = createLogger({ name: 'hes-api', level: env.LOG_LEVEL ?? 'info', destination: sink });
  const api = await buildApp(
    { config: apiConfig, prisma: db.prisma, queue, redis: redis.connection, events },
    { loggerInstance: apiLogger },
  );
  await api.ready();
  const { key } = await createApiKey(db.prisma, { name: `e2e-${label}`, scopes: ['admin'] });

  const runtimes: WorkerRuntime[] = [];
  const children: ChildProcess[] = [];
  const servers: Server[] = [];

  return {
    sandbox,
    db,
    redis,
    api,
    queue,
    key,
    headers: { authorization: `Bearer ${key}` },
    logs,
    env,
    async listen() {
      await api.listen({ port: 0, host: '127.0.0.1' });
      return `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    },
    async startWorker(extra = {}, workerOptions = {}) {
      const config = loadWorkerConfig({ ...env, ...extra });
      const logger = createLogger({ name: 'hes-worker', level: config.gateway.logLevel, destination: sink });
      const runtime = await createWorkerRuntime({ config, prisma: db.prisma, logger, ...workerOptions });
      runtimes.push(runtime);
      return runtime;
    },
    async serveWorkerMetrics(runtime) {
      const server = await startMetricsServer(runtime.metrics.registry, 0, '127.0.0.1');
      servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    spawnWorker(extra = {}) {
      const child = spawn(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', join(root, 'services/worker/src/main.ts')],
        { env: { ...process.env, ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.pipe(new LineSink(logs));
      child.stderr?.pipe(new LineSink(logs));
      children.push(child);
      return child;
    },
    async spawnApi(extra = {}) {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', join(root, 'services/api/src/server.ts')],
        {
          env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', ...extra },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout?.pipe(new LineSink(logs));
      child.stderr?.pipe(new LineSink(logs));
      children.push(child);
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`the API process exited with ${child.exitCode}`);
          const res = await fetch(`${url}/healthz`).catch(() => null);
          return res?.status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 100, message: 'the API process answers /healthz' },
      );
      return { child, url };
    },
    async close() {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      for (const runtime of runtimes) await runtime.close({ force: true }).catch(() => {});
      await api.close();
      await queue.close();
      await events.close();
      await sandbox.close();
      await redis.close();
      await db.drop();
    },
  };
}

/** A TCP port free on 127.0.0.1 right now (for a process the test starts itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Every string value stored under the stack's Redis prefix (keys included), for leak scans. */
export async function dumpRedis(redis: TestRedis): Promise<string[]> {
  const out: string[] = [];
  const conn = redis.connection;
  let cursor = '0';
  do {
    const [next, keys] = await conn.scan(cursor, 'MATCH', `${redis.prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      out.push(k);
      const type = await conn.type(k);
      if (type === 'string') out.push((await conn.get(k)) ?? '');
      else if (type === 'hash') out.push(...Object.entries(await conn.hgetall(k)).flat());
      else if (type === 'list') out.push(...(await conn.lrange(k, 0, -1)));
      else if (type === 'set') out.push(...(await conn.smembers(k)));
      else if (type === 'zset') out.push(...(await conn.zrange(k, 0, -1)));
      else if (type === 'stream') out.push(...(await conn.xrange(k, '-', '+')).flat(3).map(String));
    }
  } while (cursor !== '0');
  return out;
}

/** Every row of every table as JSON text, for leak scans. */
export async function dumpDatabase(db: TestDatabase): Promise<string[]> {
  // Every table, found at run time: a table added later (rosters, webhook outbox…) is scanned too.
  const tables = (
    await db.prisma.$queryRawUnsafe<{ t: string }[]>(
      `SELECT table_name::text AS t FROM information_schema.tables
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    )
  ).map((r) => r.t);
  if (!tables.includes('checks')) throw new Error('dumpDatabase: no checks table (not migrated?)');
  const out: string[] = [];
  for (const t of tables) {
    const rows = await db.prisma.$queryRawUnsafe<{ j: string }[]>(
      `SELECT row_to_json(x)::text AS j FROM "${t}" x`,
    );
    out.push(...rows.map((r) => r.j));
  }
  return out;
}

/**
 * Which of `codes` appear anywhere in `haystack`, case-insensitively and also in the dashed form people
 * print (`A1B2-C3D4-E5`): every 10-character window of every alphanumeric run is looked up, so a code
 * buried in a longer token (a URL, a base64 blob) is found too. Linear in the size of the haystack.
 */
export function leakedCodes(codes: readonly string[], haystack: readonly string[]): string[] {
  const wanted = new Set(codes);
  const found = new Set<string>();
  for (const chunk of haystack) {
    const text = chunk.toUpperCase().replace(/([A-Z0-9]{4})-([A-Z0-9]{4})-([A-Z0-9]{2})/g, '$1$2$3');
    for (const run of text.match(/[A-Z0-9]{10,}/g) ?? []) {
      for (let i = 0; i + 10 <= run.length; i++) {
        const window = run.slice(i, i + 10);
        if (wanted.has(window)) found.add(window);
      }
    }
  }
  return [...found];
}

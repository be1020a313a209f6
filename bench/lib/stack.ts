/**
 * The gateway as the benchmark runs it, built from the same blocks as the end-to-end tests
 * (test/support/stack.ts): the sandbox Ministry in this process on a random port, a private database
 * cloned from the migrated template (`createTestDatabase`), a private Redis prefix (`createTestRedis`),
 * and the API and workers as child processes started exactly as in production (environment only), so
 * their CPU and memory are their own and the load generator does not share their event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createApiKey } from '@hes/core';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@hes/core/testing';
import { buildSandboxApp, type FaultConfig, type SandboxApp } from '@hes/sandbox';
import pg from 'pg';
import { request } from 'undici';
import { sleep } from './stats.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USERNAME = 'bench-institution';
const PASSWORD = 'bench-secret';

export interface Child {
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last lines the process wrote (for error messages). */
  tail: string[];
  stop(): Promise<void>;
}

export interface ApiProcess extends Child {
  port: number;
  url: string;
}

export interface WorkerProcess extends Child {
  /** The worker's Prometheus exposition (its metrics server listens on a random port). */
  metrics(): Promise<string>;
}

export interface BenchStack {
  sandbox: SandboxApp;
  sandboxUrl: string;
  hesBaseUrl: string;
  username: string;
  password: string;
  db: TestDatabase;
  redis: TestRedis;
  pool: pg.Pool;
  key: string;
  env: Record<string, string>;
  startApi(extra?: Record<string, string>): Promise<ApiProcess>;
  startWorker(extra?: Record<string, string>): Promise<WorkerProcess>;
  /** Resolves when the batch is completed; returns when (ms, performance clock of this process). */
  waitForBatch(batchId: string, timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The worker's V8 heap flags as production starts it: taken from `pnpm start:worker` (package.json), the
 * one place they are written besides the Dockerfile (test/deploy/worker-heap.test.ts keeps both equal).
 */
export function workerNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return pkg.scripts['start:worker']?.match(/--max-[a-z-]+=\d+/g) ?? [];
}

/** Spawns a TypeScript entry point under tsx (`--conditions=source --import tsx`): bench helpers. */
export function spawnTs(
  name: string,
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Child & { lines: Interface } {
  return spawnNode(name, [...nodeArgs, '--conditions=source', '--import', 'tsx', join(ROOT, entry)], env);
}

/** Spawns a compiled service entry (`services/<name>/dist/…`, built by bench/run.ts) as production does. */
export function spawnBuilt(
  name: string,
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Child & { lines: Interface } {
  return spawnNode(name, [...nodeArgs, '--enable-source-maps', join(ROOT, entry)], env);
}

function spawnNode(name: string, args: string[], env: Record<string, string>): Child & { lines: Interface } {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    child,
    pid: child.pid!,
    tail,
    lines,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // Graceful first; a second signal makes the worker abort what is in flight; then SIGKILL.
      const t0 = performance.now();
      child.kill('SIGTERM');
      const again = setTimeout(() => child.kill('SIGTERM'), 10_000);
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(again);
      clearTimeout(kill);
      if (performance.now() - t0 > 5_000)
        console.log(`    (${name} took ${Math.round(performance.now() - t0)} ms to stop)`);
    },
  };
}

/** Resolves on the first stdout line containing `needle`; stdout keeps being drained afterwards. */
function waitForLine(c: Child & { lines: Interface }, needle: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`${c.name} ${why} before "${needle}":\n${c.tail.join('\n')}`));
    };
    const onLine = (line: string) => {
      if (!line.includes(needle)) return;
      cleanup();
      resolve(line);
    };
    const onExit = () => fail('exited');
    const timer = setTimeout(() => {
      c.child.kill('SIGKILL');
      fail(`took ${timeoutMs} ms`);
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      c.lines.off('line', onLine);
      c.child.off('exit', onExit);
    };
    c.lines.on('line', onLine);
    c.child.once('exit', onExit);
  });
}

export interface BenchStackOptions {
  faults?: Partial<FaultConfig>;
  env?: Record<string, string>;
}

export async function startBenchStack(label: string, options: BenchStackOptions = {}): Promise<BenchStack> {
  const sandbox = buildSandboxApp({
    username: USERNAME,
    password: PASSWORD,
    faults: options.faults ?? {},
    // Enough history for peak-rps over a whole 1M-code run.
    arrivalHistory: 200_000,
  });
  await sandbox.listen({ port: 0, host: '127.0.0.1' });
  const address = sandbox.server.address();
  if (address === null || typeof address === 'string') throw new Error('sandbox has no port');
  const sandboxUrl = `http://127.0.0.1:${address.port}`;
  const hesBaseUrl = `${sandboxUrl}/services/g2g/test/saglik/hes/`;
  const db = await createTestDatabase(`bench-${label}`);
  const redis = await createTestRedis(`bench-${label}`);
  const pool = new pg.Pool({ connectionString: db.url, max: 3, application_name: 'hes-bench' });
  pool.on('error', () => {});
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    HES_BASE_URL: hesBaseUrl,
    HES_USERNAME: USERNAME,
    HES_PASSWORD: PASSWORD,
    HES_DATA_KEY: randomBytes(32).toString('base64'),
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    LOG_PRETTY: 'false',
    // One key generates all the load here: the per-key limit (API_KEY_RATE_LIMIT_RPS) would be what we measure.
    API_KEY_RATE_LIMIT_RPS: '0',
    ...options.env,
  };
  const { key } = await createApiKey(db.prisma, { name: `bench-${label}`, scopes: ['admin'] });
  const children: Child[] = [];

  return {
    sandbox,
    sandboxUrl,
    hesBaseUrl,
    username: USERNAME,
    password: PASSWORD,
    db,
    redis,
    pool,
    key,
    env,
    async startApi(extra = {}) {
      const port = await freePort();
      // BENCH_API_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the API only.
      const nodeArgs = process.env.BENCH_API_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
      const c = spawnBuilt(
        'api',
        'services/api/dist/server.js',
        { ...env, PORT: String(port), HOST: '127.0.0.1', ...extra },
        nodeArgs,
      );
      children.push(c);
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        if (c.child.exitCode !== null) throw new Error(`api exited:\n${c.tail.join('\n')}`);
        try {
          const res = await request(`${url}/healthz`);
          await res.body.dump();
          if (res.statusCode === 200) break;
        } catch {}
        if (i > 300) throw new Error(`api did not start:\n${c.tail.join('\n')}`);
        await sleep(100);
      }
      return { ...c, port, url };
    },
    async startWorker(extra = {}) {
      // BENCH_WORKER_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the workers only.
      const nodeArgs = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
      const c = spawnBuilt('worker', 'services/worker/dist/main.js', { ...env, ...extra }, [
        ...workerNodeFlags(),
        ...nodeArgs,
      ]);
      children.push(c);
      const started = await waitForLine(c, 'worker started', 60_000);
      const port = (JSON.parse(started) as { metricsPort?: number }).metricsPort;
      return {
        ...c,
        async metrics() {
          const res = await request(`http://127.0.0.1:${port}/metrics`);
          return res.body.text();
        },
      };
    },
    async waitForBatch(batchId, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const { rows } = await pool.query<{ status: string }>('SELECT status FROM batches WHERE id = $1', [
          batchId,
        ]);
        if (rows[0]?.status === 'completed') return performance.now();
        if (performance.now() > deadline)
          throw new Error(`batch ${batchId} not completed in ${timeoutMs} ms`);
        await sleep(25);
      }
    },
    async close() {
      await Promise.all(children.map((c) => c.stop()));
      await sandbox.close();
      await pool.end().catch(() => {});
      await redis.close().catch(() => {});
      await db.drop();
    },
  };
}

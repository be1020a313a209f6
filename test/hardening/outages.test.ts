/**
 * Issue 6 §1: real outages. The machine's shared PostgreSQL and Redis serve other test files in
 * parallel, so this file runs its own: a PostgreSQL cluster (initdb + pg_ctl as the postgres user) and
 * a redis-server without persistence, each on a free port in a temp dir, and stops and starts them
 * for real. Every wait has a deadline.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerRuntime } from '@hes/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Stack } from '../support/stack.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const IS_ROOT = process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the postgres user (initdb refuses root). */
function pgRun(binary: string, args: string[]) {
  const [cmd, argv] = IS_ROOT
    ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, binary), ...args]]
    : [join(PG_BIN, binary), args];
  return execFileSync(cmd, argv, { stdio: 'pipe', timeout: 60_000 }).toString();
}

class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'hes-outage-pg-'));
  readonly data = join(this.dir, 'data');
  constructor(readonly port: number) {
    if (IS_ROOT) chownSync(this.dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), -1);
    pgRun('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  }
  get url() {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }
  start() {
    pgRun('pg_ctl', [
      '-D',
      this.data,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
  }
  stop() {
    pgRun('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
  }
  destroy() {
    try {
      this.stop();
    } catch {}
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class PrivateRedis {
  private child: ChildProcess | null = null;
  constructor(readonly port: number) {}
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start() {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
  }
  /** Like a crash: SIGKILL, and with no persistence every key (the whole queue) is gone. */
  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }
}

async function until<T>(what: string, fn: () => Promise<T | null | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== null && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

let pg: PrivatePostgres;
let redis: PrivateRedis;
let stack: Stack;
let worker: Promise<WorkerRuntime> | undefined;
const ensureWorker = () => {
  worker ??= stack.startWorker();
  return worker;
};

beforeAll(async () => {
  pg = new PrivatePostgres(await freePort());
  pg.start();
  redis = new PrivateRedis(await freePort());
  await redis.start();
  // Read at call time by createTestDatabase / createTestRedis (this file runs in its own process).
  process.env.TEST_DATABASE_URL = pg.url;
  process.env.TEST_REDIS_URL = redis.url;
  const { startStack } = await import('../support/stack.js');
  stack = await startStack('outages', {
    env: {
      LOG_LEVEL: 'warn',
      RECONCILE_INTERVAL_MS: '500',
      RECONCILE_STALE_MS: '1000',
      WORKER_LOCK_DURATION_MS: '5000',
      // A retry budget of tens of seconds, so a Ministry outage of a few seconds must not fail a check.
      HES_MAX_ATTEMPTS: '30',
      HES_BACKOFF_BASE_MS: '200',
      HES_BACKOFF_MAX_MS: '1500',
      // The per-key limit stays on (defaults): with Redis gone it must fail open, not refuse.
    },
  });
}, 120_000);

afterAll(async () => {
  // Everything must be up for the stack to drop its database and flush its keys.
  try {
    pg.start();
  } catch {}
  await redis.start().catch(() => {});
  await stack?.close().catch(() => {});
  await redis?.kill();
  pg?.destroy();
}, 60_000);

const CODES = ['A1B2C3D4E5', 'B2C3D4E5F6', 'C3D4E5F6G7', 'D4E5F6G7H8', 'E5F6G7H8J9'];

async function submit(code: string, reference: string) {
  return stack.api.inject({
    method: 'POST',
    url: '/v1/checks',
    headers: { ...stack.headers, 'content-type': 'application/json' },
    payload: { hesCode: code, reference },
  });
}

async function finalCount(references: string[]) {
  const rows = await stack.db.prisma.check.findMany({
    where: { reference: { in: references } },
    select: { status: true },
  });
  return { rows: rows.length, final: rows.filter((r) => r.status === 'completed').length };
}

describe('PostgreSQL down', () => {
  it('the API answers 503 problems, never 202; queued jobs finish once it is back, once each', async () => {
    const refs = CODES.map((_, i) => `pg-${i}`);
    for (const [i, code] of CODES.entries()) expect((await submit(code, refs[i]!)).statusCode).toBe(202);

    pg.stop();
    try {
      const starting = ensureWorker();
      for (const [i, code] of CODES.entries()) {
        const res = await submit(code, `pg-down-${i}`);
        expect(res.statusCode, stack.logs.filter((l) => l.includes('request failed')).join('\n')).toBe(503);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json().code).toBe('SERVICE_UNAVAILABLE');
      }
      const ready = await stack.api.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      await starting;
      // The worker meets the outage for a while before the database returns.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    } finally {
      pg.start();
    }

    const done = await until(
      'every check accepted before the outage to complete',
      async () => {
        const c = await finalCount(refs);
        return c.final === refs.length ? c : null;
      },
      45_000,
    );
    expect(done).toEqual({ rows: refs.length, final: refs.length });
    // Refused requests stored nothing.
    expect(await stack.db.prisma.check.count({ where: { reference: { startsWith: 'pg-down-' } } })).toBe(0);
  }, 90_000);
});

describe('Redis down', () => {
  it('the API stores and acknowledges (or refuses with 503); after Redis returns empty, everything completes', async () => {
    await redis.kill();
    const accepted: string[] = [];
    try {
      for (const [i, code] of CODES.entries()) {
        const res = await submit(code, `redis-${i}`);
        expect([202, 503], res.body).toContain(res.statusCode);
        if (res.statusCode === 202) accepted.push(`redis-${i}`);
        else expect(res.json().code).toBe('SERVICE_UNAVAILABLE');
      }
      const ready = await stack.api.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
    } finally {
      await redis.start();
    }
    expect(accepted.length).toBeGreaterThan(0);
    // The per-key limit failed open rather than refusing: its bypass counter moved.
    const metrics = (await stack.api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^hes_api_rate_limit_bypassed_total [1-9]/m);
    // Nothing lost: the new, empty Redis has no jobs; the reconciler re-drives them from Postgres and
    // the reconnected worker completes them.
    const done = await until(
      'every check accepted during the Redis outage to complete',
      async () => {
        const c = await finalCount(accepted);
        return c.final === accepted.length ? c : null;
      },
      45_000,
    );
    expect(done).toEqual({ rows: accepted.length, final: accepted.length });
    const ready = await until(
      '/readyz to recover',
      async () => (await stack.api.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
      15_000,
    );
    expect(ready).toBe(true);
  }, 90_000);
});

describe('the Ministry down', () => {
  it('backlog builds and shows in metrics, nothing fails within the retry budget, all completes after', async () => {
    const runtime = await ensureWorker();
    const metric = async (name: string, filter = '') => {
      const text = await runtime.metrics.registry.metrics();
      return text
        .split('\n')
        .filter((l) => l.startsWith(name) && l.includes(filter))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    };
    const failedBefore = await stack.db.prisma.check.count({ where: { status: 'failed' } });
    const errorsBefore = await metric('hes_worker_upstream_requests_total', 'result="');
    const okBefore = await metric('hes_worker_upstream_requests_total', 'result="ok"');

    stack.sandbox.sandbox.faults.update({ errorRate: 1 });
    const refs = CODES.map((_, i) => `ministry-${i}`);
    try {
      for (const [i, code] of CODES.entries()) expect((await submit(code, refs[i]!)).statusCode).toBe(202);
      // The outage lasts until the worker has retried through a few 5xx answers, then a while more.
      await until(
        'the worker to meet several upstream failures',
        async () =>
          (await metric('hes_worker_upstream_requests_total', 'result="')) -
            (await metric('hes_worker_upstream_requests_total', 'result="ok"')) -
            (errorsBefore - okBefore) >=
          5,
        20_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const pending = await stack.db.prisma.check.count({
        where: { reference: { in: refs }, status: { in: ['queued', 'processing'] } },
      });
      expect(pending).toBe(refs.length);
      expect(await stack.db.prisma.check.count({ where: { status: 'failed' } })).toBe(failedBefore);
      expect(await metric('hes_worker_retries_total')).toBeGreaterThan(0);
    } finally {
      stack.sandbox.sandbox.faults.update({ errorRate: 0 });
    }

    const done = await until(
      'the backlog to drain after recovery',
      async () => {
        const c = await finalCount(refs);
        return c.final === refs.length ? c : null;
      },
      45_000,
    );
    expect(done).toEqual({ rows: refs.length, final: refs.length });
    expect(await stack.db.prisma.check.count({ where: { status: 'failed' } })).toBe(failedBefore);
    const attempts = await stack.db.prisma.check.findMany({
      where: { reference: { in: refs } },
      select: { attempts: true },
    });
    expect(attempts.every((r) => r.attempts > 1)).toBe(true);
  }, 90_000);
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../src/db/database-url.js';
import {
  createTestDatabase,
  createTestRedis,
  dropTestDatabase,
  TEST_TEMPLATE_DATABASE,
  testServerUrl,
  uniqueDatabaseName,
  WaitForTimeoutError,
  waitFor,
} from '../src/testing/index.js';

async function adminQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: withDatabase(testServerUrl(), 'postgres') });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const exists = async (name: string) =>
  (await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;

describe('createTestDatabase', () => {
  it('gives each caller its own migrated database and drops it', async () => {
    const [a, b] = await Promise.all([createTestDatabase('iso'), createTestDatabase('iso')]);
    try {
      expect(a.name).not.toBe(b.name);
      expect(a.name).toMatch(new RegExp(`^hes_test_iso_${process.pid}_[0-9a-f]{8}$`));
      expect(new URL(a.url).pathname).toBe(`/${a.name}`);

      await a.prisma.apiKey.create({
        data: { name: 'only-in-a', prefix: 'hes_aaaaaaaa', hash: 'a'.repeat(64) },
      });
      expect(await a.prisma.apiKey.count()).toBe(1);
      expect(await b.prisma.apiKey.count()).toBe(0);
      // The template itself stays empty.
      const inTemplate = await adminQuery<{ comment: string | null }>(
        `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
        [TEST_TEMPLATE_DATABASE],
      );
      expect(inTemplate[0]?.comment).toMatch(/^hes-migrations:[0-9a-f]{64}$/);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
    expect(await exists(a.name)).toBe(false);
    expect(await exists(b.name)).toBe(false);
    await a.drop(); // idempotent
  });

  it('rebuilds its template when the migrations change', async () => {
    const template = uniqueDatabaseName('tpl');
    const dir = await mkdtemp(join(tmpdir(), 'hes-template-'));
    const add = async (name: string, sql: string) => {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, 'migration.sql'), sql);
    };
    const tables = async (url: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ t: string }>(
          `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
        );
        return rows.map((r) => r.t);
      } finally {
        await client.end();
      }
    };
    try {
      await add('001_one', 'CREATE TABLE one (id int);');
      const first = await createTestDatabase('tpl', { template, migrationsDir: dir });
      expect(await tables(first.url)).toEqual(['_prisma_migrations', 'one']);
      await first.drop();

      const unchanged = await createTestDatabase('tpl', { template, migrationsDir: dir });
      expect(await tables(unchanged.url)).toEqual(['_prisma_migrations', 'one']);
      await unchanged.drop();

      await add('002_two', 'CREATE TABLE two (id int);');
      const second = await createTestDatabase('tpl', { template, migrationsDir: dir });
      expect(await tables(second.url)).toEqual(['_prisma_migrations', 'one', 'two']);
      await second.drop();
    } finally {
      await dropTestDatabase(template);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('createTestRedis', () => {
  const others: string[] = [];
  afterAll(async () => {
    const r = await createTestRedis('cleanup');
    if (others.length > 0) await r.connection.del(...others);
    await r.close();
  });

  it('isolates prefixes and flushes only its own keys', async () => {
    const a = await createTestRedis('iso');
    const b = await createTestRedis('iso');
    try {
      expect(a.prefix).not.toBe(b.prefix);
      expect(a.connection.options.maxRetriesPerRequest).toBeNull();
      const foreign = `${a.prefix}-not-mine`;
      others.push(foreign);
      const pipeline = a.connection.pipeline();
      for (let i = 0; i < 1500; i++) pipeline.set(`${a.prefix}:k${i}`, '1');
      await pipeline.exec();
      await b.connection.set(`${b.prefix}:k`, '1');
      await a.connection.set(foreign, '1');

      expect(await a.flush()).toBe(1500);
      expect(await a.connection.exists(`${a.prefix}:k0`, `${a.prefix}:k1499`)).toBe(0);
      expect(await b.connection.get(`${b.prefix}:k`)).toBe('1');
      expect(await a.connection.get(foreign)).toBe('1');
      expect(await a.flush()).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
    const check = await createTestRedis('check');
    try {
      // close() flushed b's keys too.
      expect(await check.connection.exists(`${b.prefix}:k`)).toBe(0);
    } finally {
      await check.close();
    }
    expect(a.connection.status).toBe('end');
  });

  it('fails clearly when Redis is unreachable', async () => {
    const saved = process.env.TEST_REDIS_URL;
    process.env.TEST_REDIS_URL = 'redis://127.0.0.1:1';
    try {
      await expect(createTestRedis('down')).rejects.toThrow(/not reachable at redis:\/\/127\.0\.0\.1:1/);
    } finally {
      if (saved === undefined) delete process.env.TEST_REDIS_URL;
      else process.env.TEST_REDIS_URL = saved;
    }
  });
});

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let n = 0;
    const value = await waitFor(() => (++n >= 3 ? { n } : null), { intervalMs: 1 });
    expect(value).toEqual({ n: 3 });
  });

  it('keeps polling through errors and async conditions', async () => {
    let n = 0;
    const value = await waitFor(
      async () => {
        n++;
        if (n < 3) throw new Error('not yet');
        return 'done';
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('done');
  });

  it('times out with the message and the last value', async () => {
    const started = Date.now();
    const check = { status: 'queued', completedAt: null };
    const error = await waitFor(() => check.completedAt, { timeoutMs: 60, message: 'check completed' }).catch(
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(error).toBeInstanceOf(WaitForTimeoutError);
    expect((error as Error).message).toMatch(/^check completed \(gave up after 60 ms; last value: null\)$/);

    const withError = await waitFor(
      () => {
        throw new Error('row missing');
      },
      { timeoutMs: 30 },
    ).catch((e: unknown) => e);
    expect((withError as Error).message).toContain('last error: row missing');
    expect((withError as WaitForTimeoutError).lastError).toBeInstanceOf(Error);
  });
});

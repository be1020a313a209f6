import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { withDatabase } from '../src/db/database-url.js';
import { defaultMigrationsDir, MigrationError, migrate, readMigrations } from '../src/db/migrator.js';
import { createLogger } from '../src/logging/logger.js';
import {
  createTestDatabase,
  dropTestDatabase,
  testServerUrl,
  uniqueDatabaseName,
} from '../src/testing/index.js';

const server = testServerUrl();
const databases: string[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(databases.splice(0).map((name) => dropTestDatabase(name)));
});
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function freshDatabaseUrl(): string {
  const name = uniqueDatabaseName('migrator');
  databases.push(name);
  return withDatabase(server, name);
}

async function migrationsDir(migrations: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hes-migrations-'));
  dirs.push(dir);
  await addMigrations(dir, migrations);
  return dir;
}

async function addMigrations(dir: string, migrations: Record<string, string>): Promise<void> {
  for (const [name, sql] of Object.entries(migrations)) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'migration.sql'), sql);
  }
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function databaseExists(url: string): Promise<boolean> {
  const name = new URL(url).pathname.slice(1);
  const rows = await query(withDatabase(server, 'postgres'), 'SELECT 1 FROM pg_database WHERE datname = $1', [
    name,
  ]);
  return rows.length === 1;
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const rows = await query<{ t: string | null }>(url, 'SELECT to_regclass($1)::text AS t', [table]);
  return rows[0]?.t != null;
}

interface HistoryRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

const history = (url: string) =>
  query<HistoryRow>(url, 'SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name');

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

// The second migration depends on the first, so applying out of order would fail.
const TWO = {
  '20260101000000_accounts':
    'CREATE TABLE accounts (id int PRIMARY KEY);\nINSERT INTO accounts VALUES (1);\n',
  '20260102000000_orders':
    'CREATE TABLE orders (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts(id));\n',
};

describe('migrate', () => {
  it('creates a missing database and applies every migration in name order with Prisma-compatible history', async () => {
    const url = freshDatabaseUrl();
    const dir = await migrationsDir(TWO);
    expect(await databaseExists(url)).toBe(false);

    const result = await migrate({ databaseUrl: url, migrationsDir: dir });

    expect(result).toEqual({
      applied: ['20260101000000_accounts', '20260102000000_orders'],
      skipped: [],
      databaseCreated: true,
    });
    expect(await databaseExists(url)).toBe(true);
    expect(await tableExists(url, 'orders')).toBe(true);
    const rows = await history(url);
    expect(rows.map((r) => r.migration_name)).toEqual(result.applied);
    for (const row of rows) {
      expect(row.checksum).toBe(sha256(TWO[row.migration_name as keyof typeof TWO]));
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    // Same columns and types as the table Prisma's schema engine creates.
    const columns = await query<{ column_name: string; data_type: string; is_nullable: string }>(
      url,
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
      ['id', 'character varying', 'NO'],
      ['checksum', 'character varying', 'NO'],
      ['finished_at', 'timestamp with time zone', 'YES'],
      ['migration_name', 'character varying', 'NO'],
      ['logs', 'text', 'YES'],
      ['rolled_back_at', 'timestamp with time zone', 'YES'],
      ['started_at', 'timestamp with time zone', 'NO'],
      ['applied_steps_count', 'integer', 'NO'],
    ]);
  });

  it('reports progress through a pino logger', async () => {
    const url = freshDatabaseUrl();
    const dir = await migrationsDir(TWO);
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      name: 'migrate-test',
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    });
    await migrate({ databaseUrl: url, migrationsDir: dir, logger });
    expect(lines.filter((l) => typeof l.ms === 'number').map((l) => l.migration)).toEqual(Object.keys(TWO));
    expect(lines.some((l) => l.database === new URL(url).pathname.slice(1))).toBe(true);
  });

  it('is a no-op the second time and applies only what was added since', async () => {
    const url = freshDatabaseUrl();
    const dir = await migrationsDir(TWO);
    await migrate({ databaseUrl: url, migrationsDir: dir });
    const before = await history(url);

    const again = await migrate({ databaseUrl: url, migrationsDir: dir });
    expect(again).toEqual({ applied: [], skipped: Object.keys(TWO), databaseCreated: false });
    expect(await history(url)).toEqual(before);
    // The first migration's INSERT ran once, not twice.
    expect(await query(url, 'SELECT * FROM accounts')).toEqual([{ id: 1 }]);

    await addMigrations(dir, { '20260103000000_notes': 'CREATE TABLE notes (id int);' });
    const third = await migrate({ databaseUrl: url, migrationsDir: dir });
    expect(third.applied).toEqual(['20260103000000_notes']);
    expect(third.skipped).toEqual(Object.keys(TWO));
    expect(await history(url)).toHaveLength(3);
  });

  it('serialises concurrent runners: all succeed, each migration is applied once', async () => {
    const url = freshDatabaseUrl();
    // The sleep keeps the first runner inside its transaction while the others arrive.
    const dir = await migrationsDir({
      ...TWO,
      '20260101000000_accounts': `${TWO['20260101000000_accounts']}SELECT pg_sleep(0.3);\n`,
    });

    const results = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl: url, migrationsDir: dir })));

    const applied = results.flatMap((r) => r.applied).sort();
    expect(applied).toEqual(Object.keys(TWO));
    expect(results.filter((r) => r.databaseCreated)).toHaveLength(1);
    for (const r of results) expect([...r.applied, ...r.skipped].sort()).toEqual(Object.keys(TWO));
    expect((await history(url)).map((r) => r.migration_name)).toEqual(Object.keys(TWO));
    expect(await query(url, 'SELECT * FROM accounts')).toEqual([{ id: 1 }]);
  });

  it('refuses to run when an applied migration was edited, and applies nothing', async () => {
    const url = freshDatabaseUrl();
    const dir = await migrationsDir(TWO);
    await migrate({ databaseUrl: url, migrationsDir: dir });

    await addMigrations(dir, {
      '20260101000000_accounts': 'CREATE TABLE accounts (id bigint PRIMARY KEY);',
      '20260104000000_later': 'CREATE TABLE later (id int);',
    });
    const error = await migrate({ databaseUrl: url, migrationsDir: dir }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).code).toBe('MIGRATION_CHECKSUM_MISMATCH');
    expect((error as MigrationError).migration).toBe('20260101000000_accounts');
    expect((error as Error).message).toContain('20260101000000_accounts');
    expect(await tableExists(url, 'later')).toBe(false);
    expect(await history(url)).toHaveLength(2);
  });

  it('accepts the same migration checked out with CRLF line endings', async () => {
    const url = freshDatabaseUrl();
    const dir = await migrationsDir(TWO);
    await migrate({ databaseUrl: url, migrationsDir: dir });
    await addMigrations(dir, {
      '20260101000000_accounts': TWO['20260101000000_accounts'].replace(/\n/g, '\r\n'),
    });
    const result = await migrate({ databaseUrl: url, migrationsDir: dir });
    expect(result.applied).toEqual([]);
  });

  it('rolls a failing migration back completely and records nothing for it', async () => {
    const url = freshDatabaseUrl();
    const dir = await migrationsDir({
      '20260101000000_ok': 'CREATE TABLE kept (id int);',
      '20260102000000_broken': 'CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1/0;\n',
      '20260103000000_after': 'CREATE TABLE after_broken (id int);',
    });

    const error = await migrate({ databaseUrl: url, migrationsDir: dir }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).code).toBe('MIGRATION_FAILED');
    expect((error as MigrationError).migration).toBe('20260102000000_broken');
    expect((error as Error).message).toContain('division by zero');
    expect(await tableExists(url, 'kept')).toBe(true);
    expect(await tableExists(url, 'half')).toBe(false);
    expect(await tableExists(url, 'after_broken')).toBe(false);
    expect((await history(url)).map((r) => r.migration_name)).toEqual(['20260101000000_ok']);

    // Fixed, it goes through on the next run.
    await addMigrations(dir, { '20260102000000_broken': 'CREATE TABLE half (id int);' });
    const result = await migrate({ databaseUrl: url, migrationsDir: dir });
    expect(result.applied).toEqual(['20260102000000_broken', '20260103000000_after']);
  });

  it('commits a migration and its history row together or not at all', async () => {
    const url = freshDatabaseUrl();
    // The script itself succeeds, but makes the insert of its own history row fail.
    const dir = await migrationsDir({
      '20260101000000_sneaky': `CREATE TABLE sneaky (id int);
ALTER TABLE "_prisma_migrations" ADD CONSTRAINT refuse_me CHECK (migration_name <> '20260101000000_sneaky');`,
    });
    const error = await migrate({ databaseUrl: url, migrationsDir: dir }).catch((e: unknown) => e);
    expect((error as MigrationError).code).toBe('MIGRATION_FAILED');
    expect(await tableExists(url, 'sneaky')).toBe(false);
    expect(await history(url)).toEqual([]);
  });

  it('refuses a migration another tool started but never finished', async () => {
    const url = freshDatabaseUrl();
    const dir = await migrationsDir(TWO);
    await migrate({ databaseUrl: url, migrationsDir: dir });
    await query(
      url,
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ('x', 'y', '20260105000000_crashed')`,
    );
    await addMigrations(dir, { '20260106000000_next': 'CREATE TABLE next_one (id int);' });

    const error = await migrate({ databaseUrl: url, migrationsDir: dir }).catch((e: unknown) => e);
    expect((error as MigrationError).code).toBe('MIGRATION_UNFINISHED');
    expect(await tableExists(url, 'next_one')).toBe(false);
  });

  it('rejects a migration folder without migration.sql before touching the database', async () => {
    const url = freshDatabaseUrl();
    const dir = await migrationsDir(TWO);
    await mkdir(join(dir, '20260107000000_empty'));
    const error = await migrate({ databaseUrl: url, migrationsDir: dir }).catch((e: unknown) => e);
    expect((error as MigrationError).code).toBe('MIGRATION_FILE_MISSING');
    expect(await databaseExists(url)).toBe(false);
  });

  it('finds the repository migrations by default; the test template was built from them', async () => {
    const dir = defaultMigrationsDir();
    expect(dir.replaceAll('\\', '/')).toMatch(/\/prisma\/migrations$/);
    const names = (await readMigrations(dir)).map((m) => m.name);
    expect(names.length).toBeGreaterThan(0);

    const db = await createTestDatabase('migrator-default');
    try {
      const result = await migrate({ databaseUrl: db.url });
      expect(result).toEqual({ applied: [], skipped: names, databaseCreated: false });
      expect(await tableExists(db.url, 'api_keys')).toBe(true);
    } finally {
      await db.drop();
    }
  });
});

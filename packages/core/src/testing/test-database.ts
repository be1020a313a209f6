import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdent, quoteLiteral, withDatabase } from '../db/database-url.js';
import { defaultMigrationsDir, migrationsFingerprint, readMigrations } from '../db/migration-files.js';
import { migrate } from '../db/migrator.js';
import { createPrisma, type PrismaClient } from '../db/prisma.js';

export const TEST_TEMPLATE_DATABASE = 'hes_gateway_template';
const DEFAULT_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
// Serialises template (re)builds and clones across test files and concurrent runs on one server.
const TEMPLATE_LOCK_KEY = 4_815_162_342;
const FINGERPRINT_TAG = 'hes-migrations:';

export interface TestDatabase {
  name: string;
  url: string;
  prisma: PrismaClient;
  /** Disconnects `prisma` and drops the database, terminating other sessions. Idempotent. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Migrations the template is built from; default the repository's. */
  migrationsDir?: string;
  /** Template database name; default `hes_gateway_template`. */
  template?: string;
}

/** The server tests use: TEST_DATABASE_URL, else DATABASE_URL, else local trust-auth Postgres. */
export function testServerUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEST_DATABASE_URL || env.DATABASE_URL || DEFAULT_SERVER_URL;
}

/** A database name unique to this process and call, recognisable as a test's. */
export function uniqueDatabaseName(label: string): string {
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  return `hes_test_${safe}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

async function withAdmin<T>(serverUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({
    connectionString: withDatabase(serverUrl, 'postgres'),
    connectionTimeoutMillis: 10_000,
    application_name: 'hes-tests',
  });
  admin.on('error', () => {});
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end().catch(() => {});
  }
}

/** Rebuilds the template when its recorded migrations fingerprint differs from the files'. */
async function ensureTemplate(
  admin: pg.Client,
  serverUrl: string,
  template: string,
  dir: string,
): Promise<void> {
  const fingerprint = FINGERPRINT_TAG + migrationsFingerprint(await readMigrations(dir));
  const { rows } = await admin.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
    [template],
  );
  if (rows[0]?.comment === fingerprint) return;
  // Missing, stale, or half-built by a run that died before the comment was written.
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(template)} WITH (FORCE)`);
  await migrate({ databaseUrl: withDatabase(serverUrl, template), migrationsDir: dir });
  await admin.query(`COMMENT ON DATABASE ${quoteIdent(template)} IS ${quoteLiteral(fingerprint)}`);
}

/**
 * A fresh, migrated database for one test file: cloned from a template that is migrated once per
 * server and rebuilt only when the migrations change, so each file pays a copy, not a migration.
 */
export async function createTestDatabase(
  label = 'test',
  options: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  const serverUrl = testServerUrl();
  const template = options.template ?? TEST_TEMPLATE_DATABASE;
  const dir = options.migrationsDir ?? defaultMigrationsDir();
  const name = uniqueDatabaseName(label);
  await withAdmin(serverUrl, async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      await ensureTemplate(admin, serverUrl, template, dir);
      // Under the lock: CREATE … TEMPLATE fails while anyone else is connected to the template.
      await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]).catch(() => {});
    }
  });
  const url = withDatabase(serverUrl, name);
  const prisma = createPrisma(url, { max: 5, applicationName: `hes-tests:${label}` });
  let dropped: Promise<void> | undefined;
  return {
    name,
    url,
    prisma,
    drop() {
      dropped ??= (async () => {
        await prisma.$disconnect().catch(() => {});
        await dropTestDatabase(name, serverUrl);
      })();
      return dropped;
    },
  };
}

/** Drops a database on the test server, terminating its sessions. */
export async function dropTestDatabase(name: string, serverUrl: string = testServerUrl()): Promise<void> {
  await withAdmin(serverUrl, (admin) =>
    admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  );
}

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { databaseNameOf, pgErrorCode, quoteIdent, redactUrl, withDatabase } from './database-url.js';
import { MigrationError } from './migration-errors.js';
import {
  checksumMatches,
  defaultMigrationsDir,
  type MigrationFile,
  readMigrations,
} from './migration-files.js';

export { MigrationError, type MigrationErrorCode } from './migration-errors.js';
export {
  defaultMigrationsDir,
  type MigrationFile,
  migrationsFingerprint,
  readMigrations,
} from './migration-files.js';

export interface MigrateLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface MigrateOptions {
  databaseUrl: string;
  /** Defaults to the repository's `prisma/migrations`. */
  migrationsDir?: string;
  logger?: MigrateLogger;
}

export interface MigrateResult {
  /** Migrations applied by this run, in order. */
  applied: string[];
  /** Migrations found already applied. */
  skipped: string[];
  /** Whether this run created the database. */
  databaseCreated: boolean;
}

// The key Prisma's schema engine locks with, so this runner and `prisma migrate …` also exclude each
// other. Advisory locks are per database: runners against different databases never wait on each other.
const MIGRATION_LOCK_KEY = 72707369;

// The exact DDL of Prisma's history table, so `prisma migrate status` reads what we write.
const CREATE_HISTORY_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

const silent: MigrateLogger = { info() {}, warn() {} };

/**
 * Applies pending `prisma/migrations/<name>/migration.sql` files, each in its own transaction together
 * with its history row, so a failed migration leaves neither schema changes nor a record behind.
 * Safe to run concurrently (advisory lock) and repeatedly (no-op when up to date).
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const logger = options.logger ?? silent;
  // Read the files before touching the database: a broken checkout fails without side effects.
  const files = await readMigrations(options.migrationsDir ?? defaultMigrationsDir());
  const { client, created } = await connectCreatingDatabase(options.databaseUrl, logger);
  try {
    await lock(client, logger);
    try {
      await client.query(CREATE_HISTORY_TABLE);
      const history = await client.query<HistoryRow>(
        `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"
          WHERE rolled_back_at IS NULL ORDER BY started_at`,
      );
      const { pending, skipped } = plan(files, history.rows, logger);
      const applied: string[] = [];
      for (const file of pending) {
        await applyOne(client, file, logger);
        applied.push(file.name);
      }
      return { applied, skipped, databaseCreated: created };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

function plan(files: readonly MigrationFile[], rows: readonly HistoryRow[], logger: MigrateLogger) {
  const recorded = new Map<string, HistoryRow>();
  for (const row of rows) {
    if (row.finished_at === null) {
      // What a failed `prisma migrate deploy` leaves; its effects are unknown, so a person decides.
      throw new MigrationError(
        'MIGRATION_UNFINISHED',
        `Migration ${row.migration_name} was started but never finished; repair the database, then set ` +
          `rolled_back_at on its _prisma_migrations row (or run \`prisma migrate resolve\`)`,
        { migration: row.migration_name },
      );
    }
    recorded.set(row.migration_name, row);
  }
  const onDisk = new Set(files.map((f) => f.name));
  for (const name of recorded.keys()) {
    if (!onDisk.has(name))
      logger.warn({ migration: name }, `migration ${name} is applied but missing on disk`);
  }
  const pending: MigrationFile[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    const row = recorded.get(file.name);
    if (!row) {
      pending.push(file);
    } else if (!checksumMatches(file, row.checksum)) {
      throw new MigrationError(
        'MIGRATION_CHECKSUM_MISMATCH',
        `Migration ${file.name} was modified after it was applied (recorded checksum ${row.checksum}, ` +
          `file ${file.checksum}); restore it and add a new migration instead`,
        { migration: file.name },
      );
    } else {
      skipped.push(file.name);
    }
  }
  return { pending, skipped };
}

async function applyOne(client: pg.Client, file: MigrationFile, logger: MigrateLogger): Promise<void> {
  const startedAt = new Date();
  logger.info({ migration: file.name }, `applying ${file.name}`);
  try {
    await client.query('BEGIN');
    // No parameters: node-postgres sends the simple query protocol, which runs multi-statement scripts.
    await client.query(file.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations"
         (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, $4, 1)`,
      [randomUUID(), file.checksum, file.name, startedAt],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    const code = pgErrorCode(err);
    throw new MigrationError(
      'MIGRATION_FAILED',
      `Migration ${file.name} failed and was rolled back: ${(err as Error).message}${code ? ` (${code})` : ''}`,
      { migration: file.name, cause: err },
    );
  }
  logger.info(
    { migration: file.name, ms: Date.now() - startedAt.getTime() },
    `applied ${file.name} in ${Date.now() - startedAt.getTime()} ms`,
  );
}

async function lock(client: pg.Client, logger: MigrateLogger): Promise<void> {
  const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
    MIGRATION_LOCK_KEY,
  ]);
  if (got.rows[0]?.ok) return;
  logger.info({}, 'another migration runner holds the lock; waiting for it');
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
}

function newClient(url: string): pg.Client {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'hes-gateway-migrate',
  });
  // A dropped connection also rejects the running query; without a listener it would crash the process.
  client.on('error', () => {});
  return client;
}

async function connectCreatingDatabase(
  url: string,
  logger: MigrateLogger,
): Promise<{ client: pg.Client; created: boolean }> {
  const name = databaseNameOf(url);
  const first = newClient(url);
  try {
    await first.connect();
    return { client: first, created: false };
  } catch (err) {
    await first.end().catch(() => {});
    if (pgErrorCode(err) !== '3D000') throw err; // invalid_catalog_name: the database does not exist
  }
  const created = await createDatabase(url, name, logger);
  const client = newClient(url);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return { client, created };
}

async function createDatabase(url: string, name: string, logger: MigrateLogger): Promise<boolean> {
  const admin = newClient(withDatabase(url, 'postgres'));
  try {
    await admin.connect();
    logger.info({ database: name }, `creating database ${name} on ${redactUrl(withDatabase(url, ''))}`);
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    return true;
  } catch (err) {
    // Another runner created it in the meantime: duplicate_database, or the catalog's unique index
    // when both CREATE DATABASE statements raced past the existence check.
    const code = pgErrorCode(err);
    if (code === '42P04' || code === '23505') return false;
    throw err;
  } finally {
    await admin.end().catch(() => {});
  }
}

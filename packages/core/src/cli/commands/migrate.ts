import { redactUrl } from '../../db/database-url.js';
import { type MigrateLogger, migrate } from '../../db/migrator.js';
import { type CliIo, databaseUrlFrom, EXIT_FAILURE, EXIT_OK, oneLine } from '../io.js';
import { parseCommand } from '../parse.js';

export const MIGRATE_USAGE = `Usage: hes migrate

Creates the database named by DATABASE_URL if it is missing and applies the pending migrations of
prisma/migrations, each in its own transaction. Safe to run concurrently and repeatedly.

Environment:
  DATABASE_URL   default postgresql://postgres@127.0.0.1:5432/hes_gateway`;

export async function runMigrate(argv: readonly string[], io: CliIo): Promise<number> {
  if (parseCommand(argv, {}, MIGRATE_USAGE).help) {
    io.stdout(MIGRATE_USAGE);
    return EXIT_OK;
  }
  const databaseUrl = databaseUrlFrom(io.env);
  const logger: MigrateLogger = {
    info: (_obj, msg) => io.stdout(msg),
    warn: (_obj, msg) => io.stderr(`warning: ${msg}`),
  };
  try {
    const result = await migrate({ databaseUrl, logger });
    const earlier = `${result.skipped.length} applied earlier`;
    io.stdout(
      result.applied.length === 0
        ? `Database is up to date (${earlier}).`
        : `Applied ${result.applied.length} migration${result.applied.length === 1 ? '' : 's'} (${earlier}).`,
    );
    return EXIT_OK;
  } catch (err) {
    io.stderr(`migrate failed (${redactUrl(databaseUrl)}): ${oneLine(err)}`);
    return EXIT_FAILURE;
  }
}

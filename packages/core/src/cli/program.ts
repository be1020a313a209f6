import { ApiKeyError } from '../auth/api-keys.js';
import { runKeys } from './commands/keys.js';
import { runMigrate } from './commands/migrate.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine, UsageError } from './io.js';

export const HES_USAGE = `Usage: hes <command> [options]

Operator commands of HES Gateway.

Commands:
  keys create --name <name> --scopes <a,b>   create an API key (printed alone on the last line)
  keys list                                  list API keys
  keys revoke <id|prefix>                    revoke an API key
  migrate                                    create the database if missing, apply migrations

Run "hes <command> --help" for details. Environment: DATABASE_URL.`;

/** Runs `hes …`; resolves to the process exit code (0 ok, 1 failure, 2 usage). */
export async function runHes(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'keys':
        return await runKeys(rest, io);
      case 'migrate':
        return await runMigrate(rest, io);
      case '--help':
      case '-h':
      case 'help':
        io.stdout(HES_USAGE);
        return EXIT_OK;
      case undefined:
        throw new UsageError('Missing command', HES_USAGE);
      default:
        throw new UsageError(
          command.startsWith('-') ? `Unknown option "${command}"` : `Unknown command "${command}"`,
          HES_USAGE,
        );
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`hes: ${err.message}`);
      io.stderr('');
      io.stderr(err.usage);
      return EXIT_USAGE;
    }
    if (err instanceof ApiKeyError) {
      io.stderr(`hes: ${err.message}`);
      return EXIT_FAILURE;
    }
    // Prisma's codes for a missing table and a missing database: both mean "not migrated yet".
    const code = (err as { code?: unknown }).code;
    const hint = code === 'P2021' || code === 'P1003' ? ' (run "pnpm migrate" first)' : '';
    io.stderr(`hes: ${oneLine(err)}${hint}`);
    return EXIT_FAILURE;
  }
}

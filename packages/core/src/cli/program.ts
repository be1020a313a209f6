import { ApiKeyError } from '../auth/api-keys.js';
import { ApiProblemError, ApiUnreachableError } from './api/errors.js';
import { runExport } from './commands/export.js';
import { runKeys } from './commands/keys.js';
import { runMigrate } from './commands/migrate.js';
import { runRosters } from './commands/rosters.js';
import { EXIT_INTERRUPTED, runSubmit } from './commands/submit.js';
import { runWatch } from './commands/watch.js';
import { runWebhooks } from './commands/webhooks.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine, UsageError } from './io.js';

export const HES_USAGE = `Usage: hes <command> [options]

Operator and HR commands of HES Gateway.

Database commands (DATABASE_URL):
  keys create --name <name> --scopes <a,b>   create an API key (printed alone on the last line)
  keys list                                  list API keys
  keys revoke <id|prefix>                    revoke an API key
  migrate                                    create the database if missing, apply migrations

API commands (HES_API_URL, HES_API_KEY):
  submit <roster.csv|.json> [--kind <k>]     submit a roster, show live progress and a summary
  export <batchId> [--outcome <o>]           stream a batch's results as CSV to stdout
  watch [batchId] [--once]                   live counts of one batch, or of the recent batches
  rosters list|show|create|upload|schedule|unschedule|run|history|delete
                                             stored rosters and their schedules
  webhooks list|create|deliveries|ping|delete
                                             webhooks and their deliveries

Run "hes <command> --help" for details.`;

/** Runs `hes …`; resolves to the process exit code (0 ok, 1 failure, 2 usage). */
export async function runHes(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'keys':
        return await runKeys(rest, io);
      case 'migrate':
        return await runMigrate(rest, io);
      case 'submit':
        return await runSubmit(rest, io);
      case 'export':
        return await runExport(rest, io);
      case 'watch':
        return await runWatch(rest, io);
      case 'rosters':
        return await runRosters(rest, io);
      case 'webhooks':
        return await runWebhooks(rest, io);
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
    if (err instanceof ApiProblemError) {
      const hint =
        err.status === 401
          ? ' (check HES_API_KEY)'
          : err.status === 403
            ? ' (ask for a key with that scope: hes keys create --scopes …)'
            : '';
      io.stderr(`hes: ${err.message}${hint}`);
      return EXIT_FAILURE;
    }
    if (err instanceof ApiUnreachableError) {
      io.stderr(`hes: ${err.message} (is the API running? set HES_API_URL)`);
      return EXIT_FAILURE;
    }
    // The reader of stdout went away (`hes export … | head`): nothing to say, nobody to say it to.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 141;
    if ((err as Error).name === 'AbortError') {
      io.stderr('hes: interrupted');
      return EXIT_INTERRUPTED;
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

/** `pnpm migrate`: create the database if missing and apply pending migrations (SPEC §7, §8). */
import { runMigrate } from './commands/migrate.js';
import { EXIT_USAGE, processIo, UsageError } from './io.js';

const io = processIo();
// exitCode rather than process.exit(): output must be flushed, not cut off.
process.exitCode = await runMigrate(process.argv.slice(2), io).catch((err: unknown) => {
  if (!(err instanceof UsageError)) throw err;
  io.stderr(`migrate: ${err.message}`);
  io.stderr(err.usage);
  return EXIT_USAGE;
});

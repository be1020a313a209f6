/** `pnpm migrate`: create the database if missing and apply pending migrations (SPEC §7, §8). */
import { runMigrate } from './commands/migrate.js';
import { processIo } from './io.js';

process.exitCode = await runMigrate(process.argv.slice(2), processIo()).catch((err: unknown) => {
  // Only usage errors escape runMigrate (e.g. an unknown flag).
  process.stderr.write(`migrate: ${(err as Error).message}\n`);
  return 2;
});

/** `pnpm hes …`: the operator CLI (SPEC §8). */
import { processIo } from './io.js';
import { runHes } from './program.js';

// `hes export … | head`: the reader left. Stop quietly, as a shell's SIGPIPE would (128 + 13).
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(141);
});

// exitCode rather than process.exit(): stdout piped into `tail -1` must be flushed, not cut off.
process.exitCode = await runHes(process.argv.slice(2), processIo());

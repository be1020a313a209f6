/** `pnpm hes …`: the operator CLI (SPEC §8). */
import { processIo } from './io.js';
import { runHes } from './program.js';

// exitCode rather than process.exit(): stdout piped into `tail -1` must be flushed, not cut off.
process.exitCode = await runHes(process.argv.slice(2), processIo());

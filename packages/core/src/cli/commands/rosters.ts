import type { CliIo } from '../io.js';

export async function runRosters(_argv: readonly string[], _io: CliIo): Promise<number> {
  return 1;
}

import type { CliIo } from '../io.js';

export async function runWebhooks(_argv: readonly string[], _io: CliIo): Promise<number> {
  return 1;
}

import { parseArgs } from 'node:util';
import { UsageError } from './io.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface ParsedCommand {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

/** parseArgs in strict mode plus `--help`/`-h`; its errors become UsageErrors carrying `usage`. */
export function parseCommand(
  argv: readonly string[],
  options: OptionSpec,
  usage: string,
  maxPositionals = 0,
): ParsedCommand {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // ERR_PARSE_ARGS_*: unknown option, missing value, …; Node's message already names the flag.
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'invalid arguments', usage);
  }
  const help = parsed.values.help === true;
  if (!help && parsed.positionals.length > maxPositionals) {
    throw new UsageError(`Unexpected argument "${parsed.positionals[maxPositionals]}"`, usage);
  }
  const values: ParsedCommand['values'] = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    if (typeof v === 'string' || typeof v === 'boolean') values[k] = v;
  }
  return { values, positionals: parsed.positionals, help };
}

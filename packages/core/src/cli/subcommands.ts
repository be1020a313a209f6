import { API_OPTIONS } from './api/options.js';
import { type CliIo, EXIT_OK, UsageError } from './io.js';
import { type OptionSpec, parseCommand } from './parse.js';

export type Subcommand = (argv: readonly string[], io: CliIo) => Promise<number>;

/** `hes <group> <sub> …`: dispatch, `--help` for the group, usage errors naming `group sub`. */
export function runGroup(
  group: string,
  usage: string,
  subs: Record<string, Subcommand>,
): (argv: readonly string[], io: CliIo) => Promise<number> {
  return async (argv, io) => {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h' || sub === 'help') {
      io.stdout(usage);
      return EXIT_OK;
    }
    if (sub === undefined) throw new UsageError('Missing command', usage);
    const run = Object.hasOwn(subs, sub) ? subs[sub] : undefined;
    if (!run) throw new UsageError(`Unknown command "${group} ${sub}"`, usage);
    return run(rest, io);
  };
}

export const at = (iso: string | null | undefined): string => (iso ? `${iso.slice(0, 19)}Z` : '-');

/** parseCommand with the API flags and exactly `positionals` arguments (unless --help). */
export function parsed(
  argv: readonly string[],
  options: OptionSpec,
  usage: string,
  positionals: number,
  missing = 'Missing arguments',
) {
  const args = parseCommand(argv, { ...API_OPTIONS, ...options }, usage, positionals);
  if (!args.help && args.positionals.length < positionals) throw new UsageError(missing, usage);
  return args;
}

export function help(io: CliIo, usage: string): number {
  io.stdout(usage);
  return EXIT_OK;
}

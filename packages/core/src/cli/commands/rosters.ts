import { CHECK_KINDS, type CheckKind } from '../../domain/check-types.js';
import type { BatchView } from '../../presenters/batch-view.js';
import { ApiClient } from '../api/client.js';
import { fileBody } from '../api/file-body.js';
import { API_ENV_HELP, apiTarget } from '../api/options.js';
import { type CliIo, EXIT_OK, UsageError } from '../io.js';
import { at, help, parsed, runGroup } from '../subcommands.js';
import { formatTable } from '../table.js';
import { finishWatching } from './submit.js';
import { batchesTable } from './watch.js';

/** A stored roster as GET /v1/rosters/:id returns it. */
interface Roster {
  id: string;
  name: string;
  kind: CheckKind;
  itemCount: number;
  schedule: { cron: string; timeZone: string; nextRunAt: string | null } | null;
  lastRunAt: string | null;
  createdAt: string;
  updatedAt: string;
}

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const ROSTERS_USAGE = `Usage: hes rosters <command>

Stored rosters: upload the people once, run them by hand or on a schedule (cron in a time zone).

Commands:
  list                                          the rosters, their size and schedule
  show <id>                                     one roster
  create --name <n> [--kind <k>] [--cron <c> [--tz <zone>]] [--file roster.csv]
                                                create a roster (id on the last line)
  upload <id> <roster.csv|.json>                replace its people
  schedule <id> --cron <c> [--tz <zone>]        run it on a schedule (default zone Europe/Istanbul)
  unschedule <id>                               remove the schedule
  run <id> [--wait]                             run it now (prints the batch id; --wait follows it)
  history <id>                                  its batches, newest first, with counts
  delete <id>                                   delete it (its past batches stay)

${API_ENV_HELP}

Examples:
  pnpm -s hes rosters create --name "Night shift" --kind employee --cron "30 21 * * *" --file night.csv
  pnpm -s hes rosters run 5d1c…9a --wait`;

const sub = (usage: string) => `${usage}\n\n${API_ENV_HELP}`;
const LIST_USAGE = sub('Usage: hes rosters list [--json]');
const SHOW_USAGE = sub('Usage: hes rosters show <id> [--json]');
const CREATE_USAGE =
  sub(`Usage: hes rosters create --name <name> [--kind <kind>] [--cron <expr> [--tz <zone>]] [--file <roster.csv|.json>]

Kinds: ${CHECK_KINDS.join(', ')} (default standard). Cron: 5 fields (minute hour day month weekday) or 6
(seconds first), read in --tz (IANA, default Europe/Istanbul). --file uploads the people right away.`);
const UPLOAD_USAGE = sub(`Usage: hes rosters upload <id> <roster.csv|.json>

Replaces every person of the roster at once (CSV header hesCode,reference[,identityLast3], or JSON
{"items":[…]}); on any error the old list stays.`);
const SCHEDULE_USAGE = sub('Usage: hes rosters schedule <id> --cron <expr> [--tz <zone>]');
const UNSCHEDULE_USAGE = sub('Usage: hes rosters unschedule <id>');
const RUN_USAGE = sub(`Usage: hes rosters run <id> [--wait]

Starts a batch from the roster now and prints its id; with --wait, follows it like "hes submit".`);
const HISTORY_USAGE = sub('Usage: hes rosters history <id> [--limit <n>]');
const DELETE_USAGE = sub('Usage: hes rosters delete <id>');

const rosterPath = (id: string) => `/v1/rosters/${encodeURIComponent(id)}`;

function scheduleOf(values: Record<string, string | boolean | undefined>, usage: string) {
  const { cron, tz } = values;
  if (typeof cron !== 'string') {
    if (tz !== undefined) throw new UsageError('--tz needs --cron', usage);
    return undefined;
  }
  return { cron, ...(typeof tz === 'string' ? { timeZone: tz } : {}) };
}

function kindOf(value: string | boolean | undefined, usage: string): CheckKind | undefined {
  if (value === undefined) return undefined;
  if (!CHECK_KINDS.includes(value as CheckKind))
    throw new UsageError(`--kind must be one of ${CHECK_KINDS.join(', ')}`, usage);
  return value as CheckKind;
}

function rosterLines(r: Roster): string[] {
  return formatTable(
    ['FIELD', 'VALUE'],
    [
      ['id', r.id],
      ['name', r.name],
      ['kind', r.kind],
      ['people', String(r.itemCount)],
      ['schedule', r.schedule ? `${r.schedule.cron} (${r.schedule.timeZone})` : '-'],
      ['next run', at(r.schedule?.nextRunAt)],
      ['last run', at(r.lastRunAt)],
      ['created', at(r.createdAt)],
      ['updated', at(r.updatedAt)],
    ],
  ).slice(1);
}

async function* all<T>(client: ApiClient, path: string): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await client.get<Page<T>>(path, { limit: 500, cursor });
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

async function list(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, { json: { type: 'boolean' } }, LIST_USAGE, 0);
  if (args.help) return help(io, LIST_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, LIST_USAGE));
  const rosters: Roster[] = [];
  for await (const r of all<Roster>(client, '/v1/rosters')) rosters.push(r);
  if (args.values.json) {
    io.stdout(JSON.stringify(rosters, null, 2));
    return EXIT_OK;
  }
  if (rosters.length === 0) {
    io.stdout('No rosters. Create one: hes rosters create --name <name> --file roster.csv');
    return EXIT_OK;
  }
  const rows = rosters.map((r) => [
    r.id,
    r.name,
    r.kind,
    String(r.itemCount),
    r.schedule ? `${r.schedule.cron} (${r.schedule.timeZone})` : '-',
    at(r.schedule?.nextRunAt),
    at(r.lastRunAt),
  ]);
  for (const line of formatTable(['ID', 'NAME', 'KIND', 'PEOPLE', 'SCHEDULE', 'NEXT RUN', 'LAST RUN'], rows))
    io.stdout(line);
  return EXIT_OK;
}

async function show(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, { json: { type: 'boolean' } }, SHOW_USAGE, 1, 'Which roster? Give its id');
  if (args.help) return help(io, SHOW_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, SHOW_USAGE));
  const roster = await client.get<Roster>(rosterPath(args.positionals[0]!));
  if (args.values.json) io.stdout(JSON.stringify(roster, null, 2));
  else for (const line of rosterLines(roster)) io.stdout(line);
  return EXIT_OK;
}

async function create(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(
    argv,
    {
      name: { type: 'string' },
      kind: { type: 'string' },
      cron: { type: 'string' },
      tz: { type: 'string' },
      file: { type: 'string' },
    },
    CREATE_USAGE,
    0,
  );
  if (args.help) return help(io, CREATE_USAGE);
  const { name, file } = args.values;
  if (typeof name !== 'string' || name.trim() === '')
    throw new UsageError('--name is required', CREATE_USAGE);
  const kind = kindOf(args.values.kind, CREATE_USAGE);
  const schedule = scheduleOf(args.values, CREATE_USAGE);
  const body = typeof file === 'string' ? await fileBody(file, CREATE_USAGE) : undefined;
  const client = new ApiClient(apiTarget(args.values, io, CREATE_USAGE));
  let roster = await client.json<Roster>('POST', '/v1/rosters', {
    json: { name, ...(kind ? { kind } : {}), ...(schedule ? { schedule } : {}) },
  });
  io.stderr(`Created roster "${roster.name}".`);
  if (body) {
    // Two requests: a failed upload leaves an empty roster, named in the message, to upload into again.
    try {
      roster = await client.json<Roster>('PUT', `${rosterPath(roster.id)}/items`, body);
    } catch (err) {
      io.stderr(`The roster was created (id ${roster.id}) but its people were not uploaded:`);
      throw err;
    }
  }
  for (const line of rosterLines(roster)) io.stdout(line);
  io.stdout(roster.id);
  return EXIT_OK;
}

async function upload(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, {}, UPLOAD_USAGE, 2, 'Give the roster id and a .csv or .json file');
  if (args.help) return help(io, UPLOAD_USAGE);
  const [id, file] = args.positionals as [string, string];
  const body = await fileBody(file, UPLOAD_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, UPLOAD_USAGE));
  const roster = await client.json<Roster>('PUT', `${rosterPath(id)}/items`, body);
  io.stdout(`Roster "${roster.name}" now has ${roster.itemCount} people.`);
  return EXIT_OK;
}

async function schedule(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(
    argv,
    { cron: { type: 'string' }, tz: { type: 'string' } },
    SCHEDULE_USAGE,
    1,
    'Which roster? Give its id',
  );
  if (args.help) return help(io, SCHEDULE_USAGE);
  const value = scheduleOf(args.values, SCHEDULE_USAGE);
  if (!value) throw new UsageError('--cron is required', SCHEDULE_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, SCHEDULE_USAGE));
  const roster = await client.json<Roster>('PATCH', rosterPath(args.positionals[0]!), {
    json: { schedule: value },
  });
  io.stdout(
    `Roster "${roster.name}" runs on "${roster.schedule?.cron}" (${roster.schedule?.timeZone}); next run ${at(roster.schedule?.nextRunAt)}.`,
  );
  return EXIT_OK;
}

async function unschedule(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, {}, UNSCHEDULE_USAGE, 1, 'Which roster? Give its id');
  if (args.help) return help(io, UNSCHEDULE_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, UNSCHEDULE_USAGE));
  const roster = await client.json<Roster>('PATCH', rosterPath(args.positionals[0]!), {
    json: { schedule: null },
  });
  io.stdout(`Roster "${roster.name}" has no schedule now; it runs only with "hes rosters run".`);
  return EXIT_OK;
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, { wait: { type: 'boolean' } }, RUN_USAGE, 1, 'Which roster? Give its id');
  if (args.help) return help(io, RUN_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, RUN_USAGE));
  const batch = await client.json<BatchView>('POST', `${rosterPath(args.positionals[0]!)}/runs`);
  io.stderr(`Started batch ${batch.id}: ${batch.total} checks (${batch.kind}).`);
  if (args.values.wait) return finishWatching(client, batch, io);
  io.stdout(batch.id);
  return EXIT_OK;
}

async function history(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, { limit: { type: 'string' } }, HISTORY_USAGE, 1, 'Which roster? Give its id');
  if (args.help) return help(io, HISTORY_USAGE);
  const limit = args.values.limit === undefined ? 20 : Number(args.values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw new UsageError('--limit must be an integer from 1 to 500', HISTORY_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, HISTORY_USAGE));
  const page = await client.get<Page<BatchView>>(`${rosterPath(args.positionals[0]!)}/batches`, { limit });
  if (page.items.length === 0) io.stdout('No runs yet. Start one: hes rosters run <id>');
  else for (const line of batchesTable(page.items)) io.stdout(line);
  return EXIT_OK;
}

async function remove(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsed(argv, {}, DELETE_USAGE, 1, 'Which roster? Give its id');
  if (args.help) return help(io, DELETE_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, DELETE_USAGE));
  await client.request('DELETE', rosterPath(args.positionals[0]!));
  io.stdout(`Deleted roster ${args.positionals[0]} (its past batches stay).`);
  return EXIT_OK;
}

export const runRosters = runGroup('rosters', ROSTERS_USAGE, {
  list,
  show,
  create,
  upload,
  schedule,
  unschedule,
  run,
  history,
  delete: remove,
});

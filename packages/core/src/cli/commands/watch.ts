import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchView } from '../../presenters/batch-view.js';
import { ApiClient } from '../api/client.js';
import { API_ENV_HELP, API_OPTIONS, apiTarget } from '../api/options.js';
import { type CliIo, EXIT_OK, UsageError } from '../io.js';
import { parseCommand } from '../parse.js';
import { doneOf } from '../progress.js';
import { formatTable } from '../table.js';
import { finishWatching } from './submit.js';

export const WATCH_USAGE = `Usage: hes watch [batchId] [--once] [--limit <n>]

With a batch id: its live progress until every check is final, then the summary table (as "hes
submit" shows it). Without: the most recent batches and their counts, refreshed every second until
Ctrl-C. Ctrl-C only stops watching; batches keep running.

Options:
  --once        print the current counts once and exit (for scripts)
  --limit <n>   how many recent batches (default 10, at most 100)
  --api-url, --api-key

${API_ENV_HELP}

Examples:
  pnpm -s hes watch
  pnpm -s hes watch 0f6b…c2
  pnpm -s hes watch --once`;

interface BatchList {
  items: BatchView[];
  nextCursor: string | null;
}

const n = (v: number) => String(v);

export function batchesTable(batches: readonly BatchView[]): string[] {
  if (batches.length === 0) return ['No batches yet. Submit one: hes submit roster.csv'];
  return formatTable(
    [
      'ID',
      'KIND',
      'STATUS',
      'DONE',
      'TOTAL',
      'FAILED',
      'RISKY',
      'NOT_FOUND',
      'EXPIRED',
      'INVALID',
      'CREATED',
    ],
    batches.map((b) => [
      b.id,
      b.kind,
      b.status,
      `${n(doneOf(b))} (${b.total === 0 ? 100 : Math.floor((doneOf(b) * 100) / b.total)}%)`,
      n(b.total),
      n(b.counts.failed),
      n(b.outcomes.RISKY),
      n(b.outcomes.NOT_FOUND),
      n(b.outcomes.EXPIRED),
      n(b.outcomes.INVALID),
      `${b.createdAt.slice(0, 19)}Z`,
    ]),
  );
}

export async function runWatch(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommand(
    argv,
    { ...API_OPTIONS, once: { type: 'boolean' }, limit: { type: 'string' } },
    WATCH_USAGE,
    1,
  );
  if (args.help) {
    io.stdout(WATCH_USAGE);
    return EXIT_OK;
  }
  const limit = args.values.limit === undefined ? 10 : Number(args.values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new UsageError('--limit must be an integer from 1 to 100', WATCH_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, WATCH_USAGE));
  const [batchId] = args.positionals;

  if (batchId !== undefined) {
    const batch = await client.get<BatchView>(`/v1/batches/${encodeURIComponent(batchId)}`);
    if (args.values.once) {
      for (const line of batchesTable([batch])) io.stdout(line);
      return EXIT_OK;
    }
    return finishWatching(client, batch, io);
  }

  // The recent batches, redrawn in place on a terminal (cursor up over the previous table).
  let drawn = 0;
  for (;;) {
    const { items } = await client.get<BatchList>('/v1/batches', { limit });
    const lines = [
      `Recent batches at ${new Date().toISOString().slice(11, 19)}Z (Ctrl-C to stop)`,
      ...batchesTable(items),
    ];
    if (args.values.once) {
      for (const line of lines.slice(1)) io.stdout(line);
      return EXIT_OK;
    }
    if (io.stdoutIsTTY && io.writeStdout && drawn > 0) {
      await io.writeStdout(Buffer.from(`\x1b[${drawn}A\x1b[J`));
    } else if (drawn > 0) {
      io.stdout('');
    }
    for (const line of lines) io.stdout(line);
    drawn = lines.length;
    try {
      await sleep(1_000, undefined, { signal: io.interrupt });
    } catch {
      return EXIT_OK;
    }
  }
}

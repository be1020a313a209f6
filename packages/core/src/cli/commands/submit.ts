import { CHECK_KINDS, type CheckKind } from '../../domain/check-types.js';
import type { BatchView } from '../../presenters/batch-view.js';
import { ApiClient } from '../api/client.js';
import { fileBody } from '../api/file-body.js';
import { API_ENV_HELP, API_OPTIONS, apiTarget } from '../api/options.js';
import { followBatch } from '../follow.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from '../io.js';
import { parseCommand } from '../parse.js';
import { batchDetails, summaryLines } from '../summary.js';

export const EXIT_INTERRUPTED = 130;

export const SUBMIT_USAGE = `Usage: hes submit <file.csv|file.json> [--kind standard|employee|visitor|plus] [--no-wait]

Streams a roster to POST /v1/batches (CSV with the header hesCode,reference[,identityLast3], or JSON
{"items":[…]}), then follows its progress (a live bar on a terminal, a line every few seconds
otherwise, both on stderr) and prints a summary table and the batch id on stdout.
Ctrl-C stops watching; the batch keeps running ("hes watch <id>" resumes).
Exit code: 0 when every check completed, 1 when some failed (or on an error), 2 on bad usage.

Options:
  --kind <kind>   ${CHECK_KINDS.join(', ')} (default standard)
  --no-wait       print the batch id and exit once the roster is accepted
  --api-url, --api-key

${API_ENV_HELP}

Example:
  HES_API_KEY=… pnpm -s hes submit roster.csv --kind employee`;

export async function runSubmit(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommand(
    argv,
    { ...API_OPTIONS, kind: { type: 'string' }, 'no-wait': { type: 'boolean' } },
    SUBMIT_USAGE,
    1,
  );
  if (args.help) {
    io.stdout(SUBMIT_USAGE);
    return EXIT_OK;
  }
  const [file] = args.positionals;
  if (!file) throw new UsageError('Which roster? Give a .csv or .json file', SUBMIT_USAGE);
  const kind = args.values.kind;
  if (kind !== undefined && !CHECK_KINDS.includes(kind as CheckKind))
    throw new UsageError(`--kind must be one of ${CHECK_KINDS.join(', ')}`, SUBMIT_USAGE);
  const body = await fileBody(file, SUBMIT_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, SUBMIT_USAGE));
  const accepted = await client.json<BatchView>('POST', '/v1/batches', {
    ...body,
    query: { kind: typeof kind === 'string' ? kind : undefined },
  });
  io.stderr(`Accepted batch ${accepted.id}: ${accepted.total} checks (${accepted.kind}).`);
  if (args.values['no-wait']) {
    io.stdout(accepted.id);
    return EXIT_OK;
  }
  return finishWatching(client, accepted, io);
}

/** Follow to the end, then the summary and the id (last line, for scripts); shared with `hes watch <id>`. */
export async function finishWatching(client: ApiClient, batch: BatchView, io: CliIo): Promise<number> {
  const followed = await followBatch(client, batch, io);
  if (followed.interrupted) {
    io.stderr(`Stopped watching. Batch ${batch.id} keeps running; resume with: hes watch ${batch.id}`);
    io.stdout(batch.id);
    return EXIT_INTERRUPTED;
  }
  const final = followed.batch;
  for (const line of summaryLines(final, await batchDetails(client, final))) io.stdout(line);
  io.stdout('');
  io.stdout(final.id);
  return final.counts.failed > 0 ? EXIT_FAILURE : EXIT_OK;
}

import {
  CHECK_OUTCOMES,
  CHECK_STATUSES,
  type CheckOutcome,
  type CheckStatus,
} from '../../domain/check-types.js';
import { ApiClient } from '../api/client.js';
import { API_ENV_HELP, API_OPTIONS, apiTarget } from '../api/options.js';
import { type CliIo, EXIT_OK, UsageError } from '../io.js';
import { parseCommand } from '../parse.js';

export const EXPORT_USAGE = `Usage: hes export <batchId> [--outcome <o>] [--status <s>] [--identity-mismatch]

Streams a batch's results as CSV (GET /v1/batches/:id/checks, Accept: text/csv) to stdout, as they
arrive: masked codes, references, masked names, outcomes, identity matches, error codes.

Options:
  --outcome <o>         only ${CHECK_OUTCOMES.join(', ')}
  --status <s>          only ${CHECK_STATUSES.join(', ')}
  --identity-mismatch   only people whose code belongs to someone else
  --api-url, --api-key

${API_ENV_HELP}

Example:
  pnpm -s hes export 0f6b…c2 > results.csv
  pnpm -s hes export 0f6b…c2 --outcome RISKY > risky.csv`;

export async function runExport(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCommand(
    argv,
    {
      ...API_OPTIONS,
      outcome: { type: 'string' },
      status: { type: 'string' },
      'identity-mismatch': { type: 'boolean' },
    },
    EXPORT_USAGE,
    1,
  );
  if (args.help) {
    io.stdout(EXPORT_USAGE);
    return EXIT_OK;
  }
  const [batchId] = args.positionals;
  if (!batchId) throw new UsageError('Which batch? Give its id', EXPORT_USAGE);
  const { outcome, status } = args.values;
  if (outcome !== undefined && !CHECK_OUTCOMES.includes(outcome as CheckOutcome))
    throw new UsageError(`--outcome must be one of ${CHECK_OUTCOMES.join(', ')}`, EXPORT_USAGE);
  if (status !== undefined && !CHECK_STATUSES.includes(status as CheckStatus))
    throw new UsageError(`--status must be one of ${CHECK_STATUSES.join(', ')}`, EXPORT_USAGE);
  const client = new ApiClient(apiTarget(args.values, io, EXPORT_USAGE));

  const res = await client.request('GET', `/v1/batches/${encodeURIComponent(batchId)}/checks`, {
    accept: 'text/csv',
    query: {
      outcome: outcome as string | undefined,
      status: status as string | undefined,
      identityMatch: args.values['identity-mismatch'] ? false : undefined,
    },
  });
  if (!res.body) return EXIT_OK;
  // Chunk by chunk with backpressure: 100 000 rows never sit in memory.
  if (io.writeStdout) {
    for await (const chunk of res.body) await io.writeStdout(chunk);
    return EXIT_OK;
  }
  // A line-based io (tests): whole lines only, the newline being the io's.
  const decoder = new TextDecoder();
  let partial = '';
  for await (const chunk of res.body) {
    const lines = (partial + decoder.decode(chunk, { stream: true })).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) io.stdout(line);
  }
  if (partial !== '') io.stdout(partial);
  return EXIT_OK;
}

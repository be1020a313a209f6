import { CHECK_OUTCOMES, CHECK_STATUSES } from '../domain/check-types.js';
import type { BatchView } from '../presenters/batch-view.js';
import type { CheckView } from '../presenters/check-view.js';
import type { ApiClient, Query } from './api/client.js';
import { formatTable } from './table.js';

interface CheckPage {
  items: CheckView[];
  nextCursor: string | null;
}

/** Every check of a batch matching `filter`, page by page (500 a request, the API's maximum). */
export async function* batchChecks(
  client: ApiClient,
  batchId: string,
  filter: Query,
): AsyncGenerator<CheckView> {
  let cursor: string | undefined;
  do {
    const page = await client.get<CheckPage>(`/v1/batches/${encodeURIComponent(batchId)}/checks`, {
      ...filter,
      limit: 500,
      cursor,
    });
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

export interface BatchDetails {
  identityMismatches: number;
  failuresByCode: Map<string, number>;
}

/** What the batch view does not count: identity mismatches and failures by error code (filtered reads). */
export async function batchDetails(client: ApiClient, batch: BatchView): Promise<BatchDetails> {
  let identityMismatches = 0;
  for await (const _ of batchChecks(client, batch.id, { identityMatch: false })) identityMismatches++;
  const failuresByCode = new Map<string, number>();
  if (batch.counts.failed > 0) {
    for await (const c of batchChecks(client, batch.id, { status: 'failed' })) {
      const code = c.error?.code ?? 'UNKNOWN';
      failuresByCode.set(code, (failuresByCode.get(code) ?? 0) + 1);
    }
  }
  return { identityMismatches, failuresByCode };
}

/** The table `hes submit` and `hes watch <id>` end with. */
export function summaryLines(batch: BatchView, details: BatchDetails): string[] {
  const rows: string[][] = [];
  for (const s of CHECK_STATUSES) rows.push(['status', s, String(batch.counts[s])]);
  for (const o of CHECK_OUTCOMES) rows.push(['outcome', o, String(batch.outcomes[o])]);
  rows.push(['identity', 'mismatch', String(details.identityMismatches)]);
  for (const [code, n] of [...details.failuresByCode].sort((a, b) => b[1] - a[1]))
    rows.push(['failed', code, String(n)]);
  const width = Math.max(5, ...rows.map((r) => r[2]!.length));
  const took =
    batch.completedAt !== null
      ? `, took ${((Date.parse(batch.completedAt) - Date.parse(batch.createdAt)) / 1000).toFixed(1)}s`
      : '';
  return [
    `Batch ${batch.id}: ${batch.status}, ${batch.total} checks (${batch.kind})${took}`,
    '',
    ...formatTable(
      ['GROUP', 'VALUE', 'COUNT'.padStart(width)],
      rows.map(([g, v, n]) => [g!, v!, n!.padStart(width)]),
    ),
  ];
}

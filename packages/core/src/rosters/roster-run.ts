import { randomUUID } from 'node:crypto';
import {
  completeBatch,
  insertBatch,
  insertChecks,
  inTransaction,
  type NewBatch,
} from '../batches/batch-store.js';
import {
  CHECK_CHUNK_ROWS,
  type CheckChunk,
  CheckChunkBuilder,
  type ChunkItem,
} from '../batches/check-chunks.js';
import { newBatchView } from '../batches/create-batch.js';
import type { CodeVault } from '../crypto/code-vault.js';
import type { PgPool, PgPoolClient } from '../db/pg-pool.js';
import type { CheckKind } from '../domain/check-types.js';
import type { BatchTrigger, BatchView } from '../presenters/batch-view.js';
import type { PlannedJob } from '../queue/enqueue.js';
import { rosterItemAad } from './roster-item-codec.js';

export interface RosterRunDeps {
  pool: PgPool;
  vault: CodeVault;
  /** The visit location of visitor checks (HES_VISIT_*); a visitor roster cannot run without it. */
  defaultVisit: object | null;
}

export interface RosterRunInput {
  rosterId: string;
  trigger: Exclude<BatchTrigger, 'api'>;
  /** A scheduled run's fire time; with it, a second run for the same time is a no-op. */
  scheduledFor: Date | null;
  apiKeyId: string | null;
  requestId: string | null;
}

export type RosterRunResult =
  | { status: 'created'; view: BatchView; jobs: PlannedJob[] }
  /** A batch for this fire time exists already (a redelivered or repeated scheduled job). */
  | { status: 'duplicate' }
  | { status: 'empty' }
  | { status: 'not-found' }
  | { status: 'visit-required' };

interface RosterHead {
  kind: CheckKind;
  item_count: number;
}

interface ItemRow {
  position: number;
  reference: string | null;
  identity_last3: string | null;
  code_masked: string;
  code_hmac: string | null;
  code_cipher: Buffer | null;
}

// The roster row is locked first: a concurrent replacement of the items (which locks the same row) waits
// for this run to commit, so the run reads one consistent list and `total` matches it; two runs of one
// roster (a redelivered scheduled job) queue behind each other instead of deadlocking on the stamp.
const LOCK_ROSTER = 'SELECT kind, item_count FROM rosters WHERE id = $1::uuid FOR NO KEY UPDATE';
const ITEMS_PAGE = `
  SELECT position, reference, identity_last3, code_masked, code_hmac, code_cipher
  FROM roster_items WHERE roster_id = $1::uuid AND position >= $2 ORDER BY position LIMIT $3`;
const STAMP_RUN = 'UPDATE rosters SET last_run_at = now() WHERE id = $1::uuid';

/**
 * Reads the roster page by page on the transaction's connection and turns each page into a chunk of
 * checks. Plaintext codes live only while their page is being re-encrypted for the new checks (AAD =
 * the check id), never the whole roster at once. The next page is requested before the current one is
 * processed, so its read overlaps the encryption work and the previous chunk's insert.
 */
async function* rosterChunks(
  client: PgPoolClient,
  rosterId: string,
  vault: CodeVault,
  builder: CheckChunkBuilder,
): AsyncGenerator<CheckChunk> {
  const read = (from: number) =>
    client.query<ItemRow>(ITEMS_PAGE, [rosterId, from, CHECK_CHUNK_ROWS]).then((r) => r.rows);
  let next: Promise<ItemRow[]> | null = read(0);
  while (next) {
    const rows: ItemRow[] = await next;
    next = rows.length === CHECK_CHUNK_ROWS ? read(rows.at(-1)!.position + 1) : null;
    // A failed prefetch surfaces when awaited; until then it must not count as unhandled.
    next?.catch(() => {});
    const page: ChunkItem[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      page[i] = {
        code: row.code_cipher ? vault.decrypt(row.code_cipher, rosterItemAad(rosterId, row.position)) : null,
        masked: row.code_masked,
        hmac: row.code_hmac,
        reference: row.reference,
        identityLast3: row.identity_last3,
      };
    }
    if (page.length > 0) yield builder.build(page);
  }
}

/**
 * One run of a stored roster: a batch (trigger schedule or manual) with one check per item, written
 * in one transaction, and rosters.last_run_at stamped. The caller enqueues the returned jobs.
 */
export async function runRoster(deps: RosterRunDeps, input: RosterRunInput): Promise<RosterRunResult> {
  const batchId = randomUUID();
  return inTransaction(deps.pool, async (client): Promise<RosterRunResult> => {
    const head = (await client.query<RosterHead>(LOCK_ROSTER, [input.rosterId])).rows[0];
    if (!head) return { status: 'not-found' };
    if (head.item_count === 0) return { status: 'empty' };
    if (head.kind === 'visitor' && !deps.defaultVisit) return { status: 'visit-required' };
    const batch: NewBatch = {
      id: batchId,
      kind: head.kind,
      total: head.item_count,
      apiKeyId: input.apiKeyId,
      requestId: input.requestId,
      visit: head.kind === 'visitor' ? deps.defaultVisit : null,
      rosterId: input.rosterId,
      trigger: input.trigger,
      scheduledFor: input.scheduledFor,
    };
    const inserted = await insertBatch(client, batch);
    if (!inserted) return { status: 'duplicate' };
    const builder = new CheckChunkBuilder(head.kind, batchId, deps.vault);
    await insertChecks(client, batch, rosterChunks(client, input.rosterId, deps.vault, builder));
    if (builder.total !== head.item_count) {
      // item_count is maintained with the items in one transaction; a mismatch is a bug, not input.
      throw new Error(
        `roster ${input.rosterId} has ${builder.total} items, item_count says ${head.item_count}`,
      );
    }
    const completedAt = builder.validIds.length === 0 ? await completeBatch(client, batchId) : null;
    await client.query(STAMP_RUN, [input.rosterId]);
    return {
      status: 'created',
      view: newBatchView(batch, builder.validIds.length, { createdAt: inserted.createdAt, completedAt }),
      jobs: builder.planJobs(input.requestId ?? undefined),
    };
  });
}

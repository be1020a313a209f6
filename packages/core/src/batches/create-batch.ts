import { randomUUID } from 'node:crypto';
import type { CodeVault } from '../crypto/code-vault.js';
import type { PgPool } from '../db/pg-pool.js';
import type { CheckKind } from '../domain/check-types.js';
import type { BatchView } from '../presenters/batch-view.js';
import type { PlannedJob } from '../queue/enqueue.js';
import { completeBatch, insertBatch, insertChecks, inTransaction, type NewBatch } from './batch-store.js';
import { CHECK_CHUNK_ROWS, type CheckChunk, CheckChunkBuilder, type ChunkItem } from './check-chunks.js';
import { intakeCode } from './intake-code.js';

/** One roster line as submitted; the code is raw until intake normalises it. */
export interface SubmittedItem {
  hesCode: string;
  reference: string | null;
  identityLast3: string | null;
}

export interface CreateBatchDeps {
  pool: PgPool;
  vault: CodeVault;
}

export interface CreateBatchInput {
  kind: CheckKind;
  items: readonly SubmittedItem[];
  apiKeyId: string | null;
  requestId: string | null;
  /** The visit location stored on visitor checks (already resolved by the caller). */
  visit: object | null;
}

export interface CreatedBatch {
  view: BatchView;
  /** The jobs to enqueue now that the rows are committed. */
  jobs: PlannedJob[];
  valid: number;
  invalid: number;
}

function* submittedChunks(
  items: readonly SubmittedItem[],
  builder: CheckChunkBuilder,
): Generator<CheckChunk> {
  const page: ChunkItem[] = [];
  for (let start = 0; start < items.length; start += CHECK_CHUNK_ROWS) {
    const end = Math.min(items.length, start + CHECK_CHUNK_ROWS);
    page.length = 0;
    for (let i = start; i < end; i++) {
      const item = items[i]!;
      const code = intakeCode(item.hesCode);
      page.push({
        code: code.ok ? code.code : null,
        masked: code.masked,
        reference: item.reference,
        identityLast3: item.identityLast3,
      });
    }
    yield builder.build(page);
  }
}

/**
 * A submitted roster (POST /v1/batches): every item becomes a check (malformed codes as
 * completed/INVALID, never sent upstream); the batch and its checks are committed in one transaction.
 * The caller enqueues `jobs` afterwards (a failure there is healed by the worker's reconciler).
 */
export async function createBatch(deps: CreateBatchDeps, input: CreateBatchInput): Promise<CreatedBatch> {
  const batch: NewBatch = {
    id: randomUUID(),
    kind: input.kind,
    total: input.items.length,
    apiKeyId: input.apiKeyId,
    requestId: input.requestId,
    visit: input.visit,
  };
  const builder = new CheckChunkBuilder(input.kind, batch.id, deps.vault);
  const stamps = await inTransaction(deps.pool, async (client) => {
    const inserted = (await insertBatch(client, batch))!;
    await insertChecks(client, batch, submittedChunks(input.items, builder));
    const completedAt = builder.validIds.length === 0 ? await completeBatch(client, batch.id) : null;
    return { createdAt: inserted.createdAt, completedAt };
  });
  return {
    view: newBatchView(batch, builder.validIds.length, stamps),
    jobs: builder.planJobs(input.requestId ?? undefined),
    valid: builder.validIds.length,
    invalid: builder.invalid,
  };
}

/** The view of a batch just written: nothing picked up yet, INVALID checks final. */
export function newBatchView(
  batch: NewBatch,
  valid: number,
  stamps: { createdAt: Date; completedAt: Date | null },
): BatchView {
  const invalid = batch.total - valid;
  return {
    id: batch.id,
    kind: batch.kind,
    status: valid === 0 ? 'completed' : 'queued',
    total: batch.total,
    counts: { queued: valid, processing: 0, completed: invalid, failed: 0 },
    outcomes: { RISKLESS: 0, RISKY: 0, NOT_FOUND: 0, EXPIRED: 0, INVALID: invalid },
    rosterId: batch.rosterId ?? null,
    trigger: batch.trigger ?? 'api',
    createdAt: stamps.createdAt.toISOString(),
    completedAt: stamps.completedAt?.toISOString() ?? null,
  };
}

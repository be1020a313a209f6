import { randomUUID } from 'node:crypto';
import { MAX_BULK_CODES } from '@hes/client';
import type { BatchView } from '@hes/core';
import {
  bulkJobId,
  type CheckKind,
  type CodeVault,
  isBulkKind,
  type PgPool,
  planBulk,
  planSingle,
  singleJobId,
  type VisitDefaults,
} from '@hes/core';
import type { FastifyBaseLogger } from 'fastify';
import type { JobQueue } from '../adapters/job-queue.js';
import { type RosterChunk, writeRoster } from '../adapters/roster-writer.js';
import { intakeCode } from './hes-code.js';
import type { IntakeMetrics } from './intake-metrics.js';
import { ApiProblem } from './problem.js';
import type { RosterItem } from './roster-parsers.js';
import { resolveVisit } from './visit.js';

export interface BatchIntakeDeps {
  pool: PgPool;
  jobs: JobQueue;
  vault: CodeVault;
  metrics: IntakeMetrics;
  defaultVisit: VisitDefaults | null;
  maxItems: number;
}

export interface BatchContext {
  apiKeyId: string;
  requestId: string;
  log: FastifyBaseLogger;
}

/** Rows per INSERT statement: large enough to amortise round trips, small enough to pipeline. */
export const ROSTER_CHUNK_ROWS = 5_000;

/** What the chunk pass learns on the way: the valid check ids, in roster order. */
interface Tally {
  validIds: string[];
}

/**
 * One pass per chunk, computed while PostgreSQL inserts the previous chunk: id, normalisation, mask,
 * encryption, HMAC and the job that will carry the check (its id is stored in job_id). Bulk jobs take
 * valid checks in roster order, MAX_BULK_CODES at a time, exactly as planBulk groups them afterwards.
 */
function* rosterChunks(
  kind: CheckKind,
  batchId: string,
  items: readonly RosterItem[],
  vault: CodeVault,
  tally: Tally,
): Generator<RosterChunk> {
  const bulk = isBulkKind(kind);
  let bulkJob = '';
  for (let start = 0; start < items.length; start += ROSTER_CHUNK_ROWS) {
    const size = Math.min(ROSTER_CHUNK_ROWS, items.length - start);
    const c: RosterChunk = {
      ids: new Array(size),
      masked: new Array(size),
      ciphers: new Array(size),
      hmacs: new Array(size),
      references: new Array(size),
      identityLast3: new Array(size),
      jobIndex: new Array(size),
      jobIds: [],
    };
    for (let k = 0; k < size; k++) {
      const item = items[start + k]!;
      const id = randomUUID();
      const code = intakeCode(item.hesCode);
      c.ids[k] = id;
      c.masked[k] = code.masked;
      c.references[k] = item.reference;
      c.identityLast3[k] = item.identityLast3;
      if (code.ok) {
        const ordinal = tally.validIds.push(id) - 1;
        if (bulk && ordinal % MAX_BULK_CODES === 0) bulkJob = bulkJobId(batchId, id);
        const jobId = bulk ? bulkJob : singleJobId(id);
        if (c.jobIds.at(-1) !== jobId) c.jobIds.push(jobId);
        c.jobIndex[k] = c.jobIds.length;
        c.ciphers[k] = vault.encrypt(code.code, id);
        c.hmacs[k] = vault.hmac(code.code);
      } else {
        c.jobIndex[k] = null;
        c.ciphers[k] = null;
        c.hmacs[k] = null;
      }
    }
    yield c;
  }
}

/** Jobs beyond this many are enqueued after the answer (see submitBatch). */
const BACKGROUND_ENQUEUE_THRESHOLD = 2_000;

/**
 * A roster: every item becomes a check (malformed codes as completed/INVALID, never sent upstream),
 * the batch and its checks are committed in one transaction, then the jobs are enqueued: bulk jobs of
 * up to 500 for standard/plus, one job per check for employee/visitor (no bulk endpoint upstream).
 */
export async function submitBatch(
  deps: BatchIntakeDeps,
  kind: CheckKind,
  items: readonly RosterItem[],
  ctx: BatchContext,
): Promise<BatchView> {
  if (items.length === 0) throw new ApiProblem('BATCH_EMPTY', { detail: 'A batch needs at least one item' });
  if (items.length > deps.maxItems) {
    throw new ApiProblem('BATCH_TOO_LARGE', {
      detail: `A batch holds at most ${deps.maxItems} items; this one has ${items.length}`,
      extensions: { limit: deps.maxItems },
    });
  }
  const visit = kind === 'visitor' ? resolveVisit(kind, undefined, deps.defaultVisit) : null;

  const batchId = randomUUID();
  const tally: Tally = { validIds: [] };
  const stamps = await writeRoster(
    deps.pool,
    { id: batchId, kind, total: items.length, apiKeyId: ctx.apiKeyId, requestId: ctx.requestId, visit },
    rosterChunks(kind, batchId, items, deps.vault, tally),
    () => tally.validIds.length === 0,
  );
  const valid = tally.validIds.length;
  const invalid = items.length - valid;

  if (valid > 0) deps.metrics.accepted(kind, 'batch', valid);
  if (invalid > 0) deps.metrics.rejected('INVALID_HES_CODE', invalid);
  const jobs = isBulkKind(kind)
    ? planBulk(kind, batchId, tally.validIds, ctx.requestId)
    : tally.validIds.map((id) => planSingle(id, ctx.requestId));
  // The rows are committed, so the roster is safe to acknowledge. Tens of thousands of single jobs
  // (employee/visitor rosters) take seconds to add; past a few thousand they are added after the 202.
  // A failure is harmless either way: the worker's reconciler re-drives stored checks without a job.
  const enqueued = deps.jobs.enqueue(jobs, ctx.log).then((ok) => {
    if (!ok) deps.metrics.enqueueFailed('batch');
  });
  if (jobs.length <= BACKGROUND_ENQUEUE_THRESHOLD) await enqueued;

  return {
    id: batchId,
    kind,
    status: valid === 0 ? 'completed' : 'queued',
    total: items.length,
    counts: { queued: valid, processing: 0, completed: invalid, failed: 0 },
    outcomes: { RISKLESS: 0, RISKY: 0, NOT_FOUND: 0, EXPIRED: 0, INVALID: invalid },
    createdAt: stamps.createdAt.toISOString(),
    completedAt: stamps.completedAt?.toISOString() ?? null,
  };
}

import { randomUUID } from 'node:crypto';
import {
  type CheckKind,
  type CodeVault,
  isBulkKind,
  type PgPool,
  type PlannedJob,
  planBulk,
  planSingle,
  type VisitDefaults,
} from '@hes/core';
import type { FastifyBaseLogger } from 'fastify';
import type { JobQueue } from '../adapters/job-queue.js';
import { type RosterChunk, writeRoster } from '../adapters/roster-writer.js';
import type { BatchView } from './batch-progress.js';
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

interface Planned {
  ids: string[];
  codes: (string | null)[];
  masked: string[];
  jobIds: (string | null)[];
  jobs: PlannedJob[];
  valid: number;
}

/** Ids, normalised codes and the job of every check, before anything is written (job_id is stored). */
function plan(kind: CheckKind, batchId: string, items: readonly RosterItem[], requestId: string): Planned {
  const ids = new Array<string>(items.length);
  const codes = new Array<string | null>(items.length);
  const masked = new Array<string>(items.length);
  const validIds: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const id = randomUUID();
    const code = intakeCode(items[i]!.hesCode);
    ids[i] = id;
    masked[i] = code.masked;
    codes[i] = code.ok ? code.code : null;
    if (code.ok) validIds.push(id);
  }
  const jobs = isBulkKind(kind)
    ? planBulk(kind, batchId, validIds, requestId)
    : validIds.map((id) => planSingle(id, requestId));
  const jobOf = new Map<string, string>();
  for (const job of jobs) {
    if (job.name === 'bulk') for (const id of job.data.checkIds) jobOf.set(id, job.jobId);
    else jobOf.set(job.data.checkId, job.jobId);
  }
  return { ids, codes, masked, jobIds: ids.map((id) => jobOf.get(id) ?? null), jobs, valid: validIds.length };
}

/** Encryption and HMAC happen here, one chunk at a time, while the previous chunk is being inserted. */
function* chunks(p: Planned, items: readonly RosterItem[], vault: CodeVault): Generator<RosterChunk> {
  for (let start = 0; start < items.length; start += ROSTER_CHUNK_ROWS) {
    const end = Math.min(start + ROSTER_CHUNK_ROWS, items.length);
    const c: RosterChunk = {
      ids: p.ids.slice(start, end),
      masked: p.masked.slice(start, end),
      ciphers: [],
      hmacs: [],
      references: [],
      identityLast3: [],
      jobIds: p.jobIds.slice(start, end),
      invalid: [],
    };
    const T0 = performance.now();
    for (let i = start; i < end; i++) {
      const code = p.codes[i];
      const item = items[i]!;
      c.ciphers.push(code ? vault.encrypt(code, p.ids[i]!) : null);
      c.hmacs.push(code ? vault.hmac(code) : null);
      c.invalid.push(code === null);
      c.references.push(item.reference);
      c.identityLast3.push(item.identityLast3);
    }
    console.error('  chunk cpu', Math.round(performance.now() - T0));
    yield c;
  }
}

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
  let T = performance.now();
  const p = plan(kind, batchId, items, ctx.requestId);
  console.error('plan', Math.round(performance.now() - T)); T = performance.now();
  const invalid = items.length - p.valid;
  const stamps = await writeRoster(
    deps.pool,
    {
      id: batchId,
      kind,
      total: items.length,
      apiKeyId: ctx.apiKeyId,
      requestId: ctx.requestId,
      completed: p.valid === 0,
      visit,
    },
    chunks(p, items, deps.vault),
  );

  console.error('write', Math.round(performance.now() - T)); T = performance.now();
  if (p.valid > 0) deps.metrics.accepted(kind, 'batch', p.valid);
  if (invalid > 0) deps.metrics.rejected('INVALID_HES_CODE', invalid);
  if (!(await deps.jobs.enqueue(p.jobs, ctx.log))) deps.metrics.enqueueFailed('batch');
  console.error('enqueue', Math.round(performance.now() - T));

  return {
    id: batchId,
    kind,
    status: p.valid === 0 ? 'completed' : 'queued',
    total: items.length,
    counts: { queued: p.valid, processing: 0, completed: invalid, failed: 0 },
    outcomes: { RISKLESS: 0, RISKY: 0, NOT_FOUND: 0, EXPIRED: 0, INVALID: invalid },
    createdAt: stamps.createdAt.toISOString(),
    completedAt: stamps.completedAt?.toISOString() ?? null,
  };
}

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
  /** Per item: index into `jobs`, or -1 for an INVALID item (no job). */
  jobOf: Int32Array;
  jobs: PlannedJob[];
  valid: number;
}

/** Ids, normalised codes and the job of every check, before anything is written (job_id is stored). */
function plan(kind: CheckKind, batchId: string, items: readonly RosterItem[], requestId: string): Planned {
  const n = items.length;
  const ids = new Array<string>(n);
  const codes = new Array<string | null>(n);
  const masked = new Array<string>(n);
  const validIds: string[] = [];
  const validAt: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const code = intakeCode(items[i]!.hesCode);
    ids[i] = id;
    masked[i] = code.masked;
    codes[i] = code.ok ? code.code : null;
    if (code.ok) {
      validIds.push(id);
      validAt.push(i);
    }
  }
  const jobOf = new Int32Array(n).fill(-1);
  let jobs: PlannedJob[];
  if (isBulkKind(kind)) {
    jobs = planBulk(kind, batchId, validIds, requestId);
    let v = 0;
    jobs.forEach((job, j) => {
      const count = job.name === 'bulk' ? job.data.checkIds.length : 1;
      for (let k = 0; k < count; k++) jobOf[validAt[v++]!] = j;
    });
  } else {
    jobs = validIds.map((id) => planSingle(id, requestId));
    validAt.forEach((at, j) => {
      jobOf[at] = j;
    });
  }
  return { ids, codes, masked, jobOf, jobs, valid: validIds.length };
}

/** Encryption and HMAC happen here, one chunk at a time, while the previous chunk is being inserted. */
function* chunks(p: Planned, items: readonly RosterItem[], vault: CodeVault): Generator<RosterChunk> {
  for (let start = 0; start < items.length; start += ROSTER_CHUNK_ROWS) {
    const end = Math.min(start + ROSTER_CHUNK_ROWS, items.length);
    const size = end - start;
    const c: RosterChunk = {
      ids: p.ids.slice(start, end),
      masked: p.masked.slice(start, end),
      ciphers: new Array(size),
      hmacs: new Array(size),
      references: new Array(size),
      identityLast3: new Array(size),
      jobIndex: new Array(size),
      jobIds: [],
    };
    const local = new Map<number, number>();
    for (let i = start; i < end; i++) {
      const k = i - start;
      const code = p.codes[i];
      const item = items[i]!;
      c.references[k] = item.reference;
      c.identityLast3[k] = item.identityLast3;
      if (code) {
        c.ciphers[k] = vault.encrypt(code, p.ids[i]!);
        c.hmacs[k] = vault.hmac(code);
        const job = p.jobOf[i]!;
        let at = local.get(job);
        if (at === undefined) {
          at = c.jobIds.push(p.jobs[job]!.jobId);
          local.set(job, at);
        }
        c.jobIndex[k] = at;
      } else {
        c.ciphers[k] = null;
        c.hmacs[k] = null;
        c.jobIndex[k] = null;
      }
    }
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
  const p = plan(kind, batchId, items, ctx.requestId);
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

  if (p.valid > 0) deps.metrics.accepted(kind, 'batch', p.valid);
  if (invalid > 0) deps.metrics.rejected('INVALID_HES_CODE', invalid);
  if (!(await deps.jobs.enqueue(p.jobs, ctx.log))) deps.metrics.enqueueFailed('batch');

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

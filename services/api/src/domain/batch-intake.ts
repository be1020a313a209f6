import {
  type BatchView,
  type CheckKind,
  type CodeVault,
  createBatch,
  type PgPool,
  type VisitDefaults,
} from '@hes/core';
import type { FastifyBaseLogger } from 'fastify';
import type { JobQueue } from '../adapters/job-queue.js';
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

/** Jobs beyond this many are enqueued after the answer (see submitBatch). */
const BACKGROUND_ENQUEUE_THRESHOLD = 2_000;

/**
 * A roster: every item becomes a check (malformed codes as completed/INVALID, never sent upstream),
 * the batch and its checks are committed in one transaction (@hes/core createBatch, shared with the
 * worker's roster runs), then the jobs are enqueued: bulk jobs of up to 500 for standard/plus, one job
 * per check for employee/visitor (no bulk endpoint upstream).
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
  const created = await createBatch(
    { pool: deps.pool, vault: deps.vault },
    { kind, items, apiKeyId: ctx.apiKeyId, requestId: ctx.requestId, visit },
  );
  if (created.valid > 0) deps.metrics.accepted(kind, 'batch', created.valid);
  if (created.invalid > 0) deps.metrics.rejected('INVALID_HES_CODE', created.invalid);
  await enqueueBatchJobs(deps, created.jobs, ctx.log);
  return created.view;
}

/**
 * The rows are committed, so the roster is safe to acknowledge. Tens of thousands of single jobs
 * (employee/visitor rosters) take seconds to add; past a few thousand they are added after the 202.
 * A failure is harmless either way: the worker's reconciler re-drives stored checks without a job.
 */
export async function enqueueBatchJobs(
  deps: Pick<BatchIntakeDeps, 'jobs' | 'metrics'>,
  jobs: Parameters<JobQueue['enqueue']>[0],
  log: FastifyBaseLogger,
): Promise<void> {
  const enqueued = deps.jobs.enqueue(jobs, log).then((ok) => {
    if (!ok) deps.metrics.enqueueFailed('batch');
  });
  if (jobs.length <= BACKGROUND_ENQUEUE_THRESHOLD) await enqueued;
}

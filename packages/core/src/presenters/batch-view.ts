import type { Prisma } from '../db/prisma.js';
import {
  type BatchStatus,
  CHECK_OUTCOMES,
  CHECK_STATUSES,
  type CheckKind,
  type CheckOutcome,
  type CheckStatus,
} from '../domain/check-types.js';

export type BatchRow = Prisma.BatchModel;
export type BatchTrigger = BatchRow['trigger'];

export interface BatchView {
  id: string;
  kind: CheckKind;
  status: BatchStatus;
  total: number;
  counts: Record<CheckStatus, number>;
  outcomes: Record<CheckOutcome, number>;
  /** The stored roster the batch was made from; null for a plain POST /v1/batches. */
  rosterId: string | null;
  /** api (POST /v1/batches), schedule (a roster's cron) or manual (POST /v1/rosters/:id/runs). */
  trigger: BatchTrigger;
  createdAt: string;
  completedAt: string | null;
}

export interface GroupCount {
  status: CheckStatus;
  outcome: CheckOutcome | null;
  count: number;
}

const zeros = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

/**
 * Progress of a roster from one GROUP BY (status, outcome). `queued` until the worker picked up
 * something (INVALID rows are final at birth and do not count as progress), `completed` once every
 * check is final, `running` in between. completedAt is the worker's stamp on the batch row.
 */
export function presentBatch(batch: BatchRow, groups: readonly GroupCount[]): BatchView {
  const counts = zeros(CHECK_STATUSES);
  const outcomes = zeros(CHECK_OUTCOMES);
  for (const g of groups) {
    counts[g.status] += g.count;
    if (g.outcome !== null) outcomes[g.outcome] += g.count;
  }
  const final = counts.completed + counts.failed;
  let status: BatchStatus;
  if (batch.completedAt !== null || final >= batch.total) status = 'completed';
  else if (counts.processing === 0 && final === outcomes.INVALID) status = 'queued';
  else status = 'running';
  return {
    id: batch.id,
    kind: batch.kind,
    status,
    total: batch.total,
    counts,
    outcomes,
    rosterId: batch.rosterId,
    trigger: batch.trigger,
    createdAt: batch.createdAt.toISOString(),
    completedAt: batch.completedAt?.toISOString() ?? null,
  };
}

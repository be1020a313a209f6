import type { JobsOptions } from 'bullmq';
import type { CheckKind } from '../domain/check-types.js';

/**
 * The job catalog. Jobs carry check ids only, never a HES code: Redis must hold no code (SPEC §6);
 * the worker reads the encrypted code from PostgreSQL.
 */
export const QUEUES = {
  checks: 'hes-checks',
  maintenance: 'hes-maintenance',
  /** Roster runs: one job per run, produced by BullMQ job schedulers (cron + time zone) or by hand. */
  rosters: 'hes-rosters',
  /** Webhook deliveries: one job per outbox row (webhook_deliveries), retried with backoff. */
  webhooks: 'hes-webhooks',
} as const;

export interface SingleCheckJob {
  checkId: string;
  requestId?: string | undefined;
}

export interface BulkCheckJob {
  kind: Extract<CheckKind, 'standard' | 'plus'>;
  batchId: string | null;
  checkIds: string[];
  requestId?: string | undefined;
}

export type CheckJobName = 'single' | 'bulk';
export type CheckJobData = SingleCheckJob | BulkCheckJob;
/** A roster run; for scheduled runs the batch is unique per (roster, fire time), so a redelivery is a no-op. */
export interface RosterRunJob {
  rosterId: string;
  requestId?: string | undefined;
}
export type RosterJobName = 'scheduled-run' | 'manual-run';

/** Carries the outbox row's id only; the payload is read from PostgreSQL. */
export interface WebhookDeliveryJob {
  deliveryId: string;
}
export type WebhookJobName = 'deliver';

export type MaintenanceJobName = 'reconcile' | 'retention-purge';

/**
 * BullMQ priority of roster jobs (1 is the highest). Any priority puts a job behind every job without
 * one, which is what interactive checks get (see enqueuePlanned); all roster jobs share one value, so
 * rosters stay first in, first out among themselves.
 */
export const ROSTER_JOB_PRIORITY = 10;

/** Deterministic ids: a re-drive of a job that still exists is a no-op in BullMQ. */
export const singleJobId = (checkId: string) => `single-${checkId}`;
export const bulkJobId = (batchId: string | null, firstCheckId: string) =>
  `bulk-${batchId ?? 'adhoc'}-${firstCheckId}`;

export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
}

/**
 * Transient failures are retried by BullMQ with the `hes` backoff strategy (exponential, equal jitter,
 * capped: see the worker). Completed jobs are removed so their deterministic id can be reused by a
 * re-drive; failed jobs are kept for a day for post-mortems.
 */
export function checkJobOptions(policy: RetryPolicy): JobsOptions {
  return {
    attempts: policy.maxAttempts,
    backoff: { type: 'hes', delay: policy.backoffBaseMs },
    removeOnComplete: true,
    removeOnFail: { age: 24 * 3600, count: 10_000 },
  };
}

import {
  type ChecksQueue,
  CodeDecryptionError,
  enqueuePlanned,
  type Logger,
  type RetryPolicy,
  type RosterJobName,
  type RosterRunDeps,
  type RosterRunJob,
  runRoster,
} from '@hes/core';
import { type Job, UnrecoverableError } from 'bullmq';

export interface RosterRunJobDeps extends RosterRunDeps {
  checksQueue: ChecksQueue;
  retry: RetryPolicy;
  /** The roster's owner key is recorded on its batches (null for rosters created without one). */
  ownerKey: (rosterId: string) => Promise<string | null>;
  logger: Logger;
}

/**
 * The fire time a scheduler job stands for. BullMQ names scheduler jobs `repeat:<schedulerId>:<millis>`
 * with the fire time in ms (job-scheduler.js getSchedulerNextJobId) and keeps it in opts.prevMillis; a
 * redelivery or a retry of the job has the same id, so the same fire time, so the same batch.
 */
export function scheduledFireTime(job: Pick<Job, 'id' | 'opts' | 'timestamp'>): Date {
  const fromId = /^repeat:.+:(\d{10,15})$/.exec(job.id ?? '')?.[1];
  if (fromId) return new Date(Number(fromId));
  const prev = (job.opts as { prevMillis?: number }).prevMillis;
  return new Date(typeof prev === 'number' ? prev : job.timestamp);
}

/**
 * A roster run: the batch and its checks committed in one transaction (@hes/core runRoster, the same
 * pipeline as POST /v1/batches), then the check jobs. An enqueue failure is not retried here: the rows
 * are stored and the reconciler re-drives checks whose job is missing. Nothing of a code is logged.
 */
export function rosterRunJob(deps: RosterRunJobDeps) {
  return async (job: Job<RosterRunJob, unknown, RosterJobName>): Promise<string> => {
    const { rosterId } = job.data;
    const scheduled = job.name === 'scheduled-run';
    const scheduledFor = scheduled ? scheduledFireTime(job) : null;
    const log = deps.logger.child({ rosterId, jobId: job.id, scheduledFor: scheduledFor?.toISOString() });
    let result: Awaited<ReturnType<typeof runRoster>>;
    try {
      result = await runRoster(deps, {
        rosterId,
        trigger: scheduled ? 'schedule' : 'manual',
        scheduledFor,
        apiKeyId: await deps.ownerKey(rosterId),
        requestId: job.data.requestId ?? `roster-run:${job.id}`,
      });
    } catch (err) {
      // Stored with another HES_DATA_KEY (or tampered): retrying cannot help; the items must be uploaded again.
      if (err instanceof CodeDecryptionError) {
        log.error({ err }, 'roster items cannot be decrypted with this HES_DATA_KEY; upload them again');
        throw new UnrecoverableError('roster items cannot be decrypted');
      }
      throw err;
    }
    switch (result.status) {
      case 'created': {
        try {
          await enqueuePlanned(deps.checksQueue, result.jobs, deps.retry);
        } catch (err) {
          log.warn(
            { err, batchId: result.view.id },
            'roster run jobs not enqueued; the reconciler re-drives them',
          );
        }
        log.info(
          { batchId: result.view.id, total: result.view.total, invalid: result.view.outcomes.INVALID },
          'roster run created a batch',
        );
        return `batch ${result.view.id}`;
      }
      case 'duplicate':
        log.info('roster run for this fire time exists already; nothing to do');
        return 'duplicate';
      case 'empty':
        log.info('roster has no items; run skipped');
        return 'empty';
      case 'not-found':
        // Deleted between the fire and the run; the scheduler itself is removed with the roster.
        log.info('roster no longer exists; run skipped');
        return 'not-found';
      case 'visit-required':
        log.error('visitor roster cannot run: no default visit location (HES_VISIT_*) is configured');
        return 'visit-required';
    }
  };
}

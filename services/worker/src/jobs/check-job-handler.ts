import {
  type BulkCheckJob,
  type CheckJobData,
  type CheckJobName,
  type Logger,
  laneOfPriority,
  type SingleCheckJob,
} from '@hes/core';
import { DelayedError, type Job } from 'bullmq';
import type { WorkerMetrics } from '../adapters/metrics.js';
import { type CheckProcessor, type JobContext, RetryableUpstreamError } from '../domain/check-processor.js';
import { type CallSignals, ReturnToQueueError } from '../domain/upstream-caller.js';
import { bulkCheckJob } from './bulk-check-job.js';
import { singleCheckJob } from './single-check-job.js';

export interface CheckJobHandlerOptions {
  processor: CheckProcessor;
  metrics: WorkerMetrics;
  logger: Logger;
  signals: CallSignals;
}

/** Last attempt of a job that kept failing on our side: its pending checks end `failed`. */
async function failPoisonJob(
  o: CheckJobHandlerOptions,
  data: CheckJobData,
  errorClass: string,
  log: Logger,
): Promise<void> {
  const bulk = 'checkIds' in data;
  const ids = bulk ? data.checkIds : [data.checkId];
  try {
    const report = await o.processor.failProcessing(ids, bulk ? [data.batchId] : [], errorClass);
    log.error({ failed: report.failed }, 'checks failed: processing kept failing and attempts are used up');
  } catch (err) {
    // Typically PostgreSQL is down: the checks stay pending and the reconciler re-drives them later.
    log.error({ err }, 'could not fail the checks of a poison job; the reconciler will re-drive them');
  }
}

/**
 * The BullMQ processor of the checks queue: dispatches by job name and turns the domain's flow-steering
 * errors into BullMQ's: back to the queue untouched (shutdown), retry with backoff (transient), or a
 * failure whose stored reason names only the error class (Redis must never hold data of a check).
 */
export function createCheckJobHandler(o: CheckJobHandlerOptions) {
  const runSingle = singleCheckJob(o.processor);
  const runBulk = bulkCheckJob(o.processor);

  return async (job: Job<CheckJobData, unknown, CheckJobName>, token?: string): Promise<void> => {
    const requestId = job.data.requestId;
    const attempt = job.attemptsMade + 1;
    const log = o.logger.child({ jobId: job.id, job: job.name, ...(requestId ? { requestId } : {}) });
    const ctx: JobContext = {
      jobId: job.id ?? '',
      lastAttempt: attempt >= (job.opts.attempts ?? 1),
      signals: o.signals,
      logger: log,
    };
    if (job.attemptsMade === 0 && job.processedOn) {
      const lane = laneOfPriority(job.opts.priority);
      o.metrics.queueWait.observe({ lane }, Math.max(0, job.processedOn - job.timestamp) / 1000);
    }
    const started = performance.now();
    try {
      const report =
        job.name === 'bulk'
          ? await runBulk(job.data as BulkCheckJob, ctx)
          : await runSingle(job.data as SingleCheckJob, ctx);
      log.info({ ...report, attempt, ms: Math.round(performance.now() - started) }, 'check job done');
    } catch (err) {
      if (err instanceof ReturnToQueueError) {
        // Back to the queue as it was: no attempt is consumed, another worker (or this one after a
        // restart) takes it. Its checks stay pending in PostgreSQL meanwhile.
        await job.moveToDelayed(Date.now(), token);
        log.info('job returned to the queue (shutdown)');
        throw new DelayedError();
      }
      if (err instanceof RetryableUpstreamError) {
        o.metrics.retries.inc();
        log.warn({ lastError: err.lastError, attempt }, 'check job will be retried');
        throw err;
      }
      const errorClass = err instanceof Error ? err.name : 'unknown error';
      log.error({ err, attempt }, 'check job failed unexpectedly');
      if (ctx.lastAttempt) await failPoisonJob(o, job.data, errorClass, log);
      throw new Error(`check job failed: ${errorClass}`);
    }
  };
}

import type { BulkCheckJob } from '@hes/core';
import type { CheckProcessor, JobContext, JobReport } from '../domain/check-processor.js';

/** `bulk`: up to 500 roster checks of kind standard/plus, one bulk call for all of them. */
export const bulkCheckJob =
  (processor: CheckProcessor) =>
  (data: BulkCheckJob, ctx: JobContext): Promise<JobReport> =>
    processor.runBulk(data, ctx);

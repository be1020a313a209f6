import type { SingleCheckJob } from '@hes/core';
import type { CheckProcessor, JobContext, JobReport } from '../domain/check-processor.js';

/** `single`: one check of any kind, one call to the endpoint of its kind. */
export const singleCheckJob =
  (processor: CheckProcessor) =>
  (data: SingleCheckJob, ctx: JobContext): Promise<JobReport> =>
    processor.runSingle(data, ctx);

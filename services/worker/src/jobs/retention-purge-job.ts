import { type PurgeReport, purgeRetention, type RetentionOptions } from '../domain/retention.js';

/** `retention-purge`: the cron-scheduled purge of results older than RETENTION_DAYS. */
export const retentionPurgeJob =
  (options: RetentionOptions) =>
  (now?: Date): Promise<PurgeReport> =>
    purgeRetention(options, now);

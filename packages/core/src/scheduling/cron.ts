import cronParser from 'cron-parser';

/** Where HR works: schedules without a time zone are read in Istanbul time (issue 7). */
export const DEFAULT_TIME_ZONE = 'Europe/Istanbul';

export class InvalidCronError extends Error {
  readonly code = 'INVALID_CRON';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidCronError';
  }
}

/** An IANA time zone Intl knows (what cron-parser, through luxon, resolves zones with). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.length === 0 || timeZone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const FIELDS = /^\S+(\s+\S+){4,5}$/;

/**
 * The next fire time of `cron` in `timeZone` after `from`, computed exactly as BullMQ's job schedulers
 * compute it (the same cron-parser release, the same options), so what the API shows is what runs.
 * Five fields (minute precision) or six (seconds first). Throws InvalidCronError.
 */
export function nextCronRun(cron: string, timeZone: string, from: Date = new Date()): Date {
  const expression = cron.trim();
  if (expression.length > 120 || !FIELDS.test(expression)) {
    throw new InvalidCronError(
      'cron must have 5 fields (minute hour day month weekday) or 6 (seconds first)',
    );
  }
  try {
    return cronParser.parseExpression(expression, { tz: timeZone, currentDate: from }).next().toDate();
  } catch (cause) {
    // cron-parser's messages name the offending field and never echo more than the expression itself.
    throw new InvalidCronError(`cron expression rejected: ${(cause as Error).message}`, { cause });
  }
}

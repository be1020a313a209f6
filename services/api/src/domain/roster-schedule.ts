import { DEFAULT_TIME_ZONE, InvalidCronError, isValidTimeZone, nextCronRun } from '@hes/core';
import { ApiProblem } from './problem.js';

export interface ScheduleInput {
  cron: string;
  timeZone?: string | undefined;
}

/**
 * A schedule as stored: the cron checked with the cron-parser BullMQ itself uses (so what is accepted
 * here is what the job scheduler can run) and the time zone with Intl. Bad input is a 400, never a
 * scheduler that silently never fires.
 */
export function validateSchedule(input: ScheduleInput): { cron: string; timeZone: string } {
  const timeZone = input.timeZone ?? DEFAULT_TIME_ZONE;
  if (!isValidTimeZone(timeZone)) {
    throw new ApiProblem('INVALID_TIME_ZONE', {
      detail: 'schedule.timeZone must be an IANA time zone such as Europe/Istanbul or UTC',
      errors: [{ path: '/schedule/timeZone', in: 'body', message: 'is not a known time zone' }],
    });
  }
  const cron = input.cron.trim().replace(/\s+/g, ' ');
  try {
    nextCronRun(cron, timeZone);
  } catch (err) {
    if (!(err instanceof InvalidCronError)) throw err;
    throw new ApiProblem('INVALID_CRON', {
      detail: err.message,
      errors: [{ path: '/schedule/cron', in: 'body', message: err.message }],
    });
  }
  return { cron, timeZone };
}

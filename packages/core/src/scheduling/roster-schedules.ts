import type { Queue } from 'bullmq';
import type { PrismaClient } from '../db/prisma.js';
import type { RosterJobName, RosterRunJob } from '../queue/catalog.js';

export type RostersQueue = Queue<RosterRunJob, unknown, RosterJobName>;

/** What the scheduler of a roster is made from: its rosters row. */
export interface RosterSchedule {
  id: string;
  cron: string | null;
  timeZone: string;
}

/**
 * Options of every run job. A run that fails (PostgreSQL briefly down) is retried: the batch is unique
 * per (roster, fire time), so a retry after a partial success is a no-op.
 */
export const ROSTER_RUN_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
} as const;

/**
 * Makes the BullMQ job scheduler of one roster match its row: one scheduler per roster with a cron,
 * keyed by the roster id, producing `scheduled-run` jobs that carry the roster id only.
 */
export async function applyRosterSchedule(queue: RostersQueue, roster: RosterSchedule): Promise<void> {
  if (roster.cron === null) {
    await queue.removeJobScheduler(roster.id);
    return;
  }
  await queue.upsertJobScheduler(
    // BullMQ types the scheduler id as a job name; it is any string (here the roster id).
    roster.id as RosterJobName,
    { pattern: roster.cron, tz: roster.timeZone },
    { name: 'scheduled-run' as const, data: { rosterId: roster.id }, opts: ROSTER_RUN_JOB_OPTIONS },
  );
}

/** States in which a scheduler's next job will still run (a due job waits; a running one is active). */
const LIVE_STATES = new Set(['delayed', 'waiting', 'prioritized', 'active', 'paused', 'waiting-children']);

/**
 * Whether the scheduler's chain is intact: BullMQ names the job of the next fire
 * `repeat:<schedulerId>:<next>`; if it is gone (or already finished without a successor) the scheduler
 * would never fire again, so it is upserted like a missing one.
 */
async function hasNextRun(
  queue: RostersQueue,
  id: string,
  next: number | null | undefined,
): Promise<boolean> {
  if (next === null || next === undefined) return false;
  const job = await queue.getJob(`repeat:${id}:${next}`);
  return job !== undefined && LIVE_STATES.has(await job.getState());
}

export interface ScheduleSyncReport {
  upserted: number;
  removed: number;
  unchanged: number;
}

/**
 * Re-creates the job schedulers from the rosters table (SPEC §5: PostgreSQL is the system of record;
 * Redis may lose everything). Only missing, different or broken (no live next job) schedulers are
 * upserted: upserting a healthy one would replace a run that is due but not yet picked up with the
 * next one. Schedulers without a scheduled roster are removed.
 *
 * Redis is read before `loadRosters` is called, so a schedule the API changes meanwhile is seen in
 * its new form (the API writes the row, then the scheduler) and never reverted to an older one.
 */
export async function syncRosterSchedules(
  queue: RostersQueue,
  loadRosters: () => Promise<RosterSchedule[]>,
): Promise<ScheduleSyncReport> {
  const existing = new Map<
    string,
    { pattern?: string | null; tz?: string | null; rosterId?: unknown; name?: string; next?: number | null }
  >();
  for (const s of await queue.getJobSchedulers(0, -1, true)) {
    if (!s?.key) continue;
    existing.set(s.key, {
      pattern: s.pattern ?? null,
      tz: s.tz ?? null,
      name: s.name,
      next: s.next ?? null,
      rosterId: (s.template?.data as Partial<RosterRunJob> | undefined)?.rosterId,
    });
  }
  const report: ScheduleSyncReport = { upserted: 0, removed: 0, unchanged: 0 };
  const wanted = new Set<string>();
  for (const roster of await loadRosters()) {
    if (roster.cron === null) continue;
    wanted.add(roster.id);
    const current = existing.get(roster.id);
    if (
      current &&
      current.pattern === roster.cron &&
      current.tz === roster.timeZone &&
      current.name === 'scheduled-run' &&
      current.rosterId === roster.id &&
      (await hasNextRun(queue, roster.id, current.next))
    ) {
      report.unchanged++;
      continue;
    }
    await applyRosterSchedule(queue, roster);
    report.upserted++;
  }
  for (const key of existing.keys()) {
    if (wanted.has(key)) continue;
    await queue.removeJobScheduler(key);
    report.removed++;
  }
  return report;
}

/** Every roster that has a schedule, as syncRosterSchedules() wants them. */
export function scheduledRosters(prisma: PrismaClient): () => Promise<RosterSchedule[]> {
  return () =>
    prisma.roster.findMany({
      where: { cron: { not: null } },
      select: { id: true, cron: true, timeZone: true },
    });
}

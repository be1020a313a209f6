import { waitFor } from '@hes/core/testing';
import { generateSandboxCodes } from '@hes/sandbox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start('worker-lanes');
});
afterEach(async () => {
  for (const rt of [...h.runtimes]) await rt.close();
});
afterAll(async () => {
  await h?.close();
});

const completedAt = async (ids: readonly string[]) => {
  await waitFor(
    async () =>
      (await h.db.prisma.check.count({ where: { id: { in: [...ids] }, status: 'completed' } })) ===
      ids.length,
    { timeoutMs: 20_000, message: 'every check to complete' },
  );
  return (await h.checks(ids)).map((r) => r.completedAt!.getTime());
};

describe('job lanes: a check someone waits for goes before roster work', () => {
  it.each([
    ['standard', 'bulk jobs'],
    ['employee', 'one job per check'],
  ] as const)(
    '%s roster (%s) queued first, a single check after it: the single is done first',
    async (kind, _jobs) => {
      const roster = await h.insertAndEnqueue({
        kind,
        codes: generateSandboxCodes('RISKLESS', 40, kind === 'standard' ? 61 : 62),
        roster: true,
        chunkSize: 5,
      });
      const single = await h.insertAndEnqueue({
        kind,
        codes: generateSandboxCodes('RISKY', 1, kind === 'standard' ? 63 : 64),
      });
      // One job at a time, and the queue already holds the roster's 8 (or 40) jobs when the worker starts.
      await h.startWorker({ WORKER_CONCURRENCY: '1', HES_RATE_LIMIT_RPS: '50' });
      const [singleDone] = await completedAt(single.ids);
      const rosterDone = await completedAt(roster.ids);
      expect(singleDone!).toBeLessThan(Math.min(...rosterDone));
    },
  );

  it('counts roster jobs (BullMQ keeps them as "prioritized") as waiting in hes_worker_queue_jobs', async () => {
    const roster = await h.insertAndEnqueue({
      kind: 'standard',
      codes: generateSandboxCodes('RISKLESS', 30, 65),
      roster: true,
      chunkSize: 5,
    });
    // A slow limit keeps the queue full while the gauge is read: one job active (the first leaves at
    // once, the second waits 2 s for its slot), the other four or five waiting.
    const rt = await h.startWorker({ WORKER_CONCURRENCY: '1', HES_RATE_LIMIT_RPS: '0.5' });
    await waitFor(async () =>
      (await rt.metrics.registry.metrics()).includes('hes_worker_queue_jobs{state="active"} 1'),
    );
    const waiting = /hes_worker_queue_jobs\{state="waiting"\} (\d+)/.exec(
      await rt.metrics.registry.metrics(),
    );
    expect(Number(waiting?.[1])).toBeGreaterThanOrEqual(4);
    await rt.close();
    for (const plan of roster.plans) await h.queue.remove(plan.jobId).catch(() => {});
  });

  it('a single check takes a rate-limit slot held by a roster job that is still waiting for it', async () => {
    // As many roster jobs as worker slots: the first leaves at once, the other three hold slots 1 s apart.
    const roster = await h.insertAndEnqueue({
      kind: 'standard',
      codes: generateSandboxCodes('RISKLESS', 20, 66),
      roster: true,
      chunkSize: 5,
    });
    await h.startWorker({ WORKER_CONCURRENCY: '4', HES_RATE_LIMIT_RPS: '1' });
    const held = `${h.redis.prefix}:hes:limiter:held`;
    await waitFor(async () => (await h.redis.connection.zcard(held)) === 3);
    const single = await h.insertAndEnqueue({
      kind: 'standard',
      codes: generateSandboxCodes('RISKY', 1, 67),
    });
    // It gets the first job's worker slot, then the earliest slot another roster job still holds (that
    // job reserves again, behind the others). Queued behind every reservation, it would come last.
    const [singleDone] = await completedAt(single.ids);
    const rosterDone = await completedAt(roster.ids);
    expect(singleDone!).toBeLessThan(Math.max(...rosterDone));
  });
});

describe('job slots', () => {
  it('WORKER_CONCURRENCY=40 runs 40 jobs at once, taken by parallel fetchers, never more', async () => {
    // Each upstream call takes 1.5 s, so the jobs stay active while the queue is looked at.
    h.sandbox.sandbox.faults.update({ latencyMs: 1_500 });
    // 40 jobs listen on the runtime's shutdown signals at once: legitimate, so no leak warning.
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const checks = await h.insertAndEnqueue({
        kind: 'employee',
        codes: generateSandboxCodes('RISKLESS', 50, 68),
      });
      const rt = await h.startWorker({ WORKER_CONCURRENCY: '40', HES_RATE_LIMIT_RPS: '1000' });
      const active = async () => (await h.queue.getJobCounts('active')).active ?? 0;
      await waitFor(async () => (await active()) === 40, { message: '40 active jobs' });
      for (let i = 0; i < 5; i++) expect(await active()).toBeLessThanOrEqual(40);
      // One BullMQ worker per 16 slots (14 + 13 + 13): three job-fetching loops instead of one.
      expect(await h.queue.getWorkersCount()).toBe(3);
      await completedAt(checks.ids);
      await rt.close();
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      h.sandbox.sandbox.faults.update({ latencyMs: 0 });
    }
  });
});

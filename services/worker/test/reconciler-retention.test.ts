import { randomBytes, randomUUID } from 'node:crypto';
import { createPgPool, type PgPool, planSingle, QUEUES } from '@hes/core';
import { waitFor } from '@hes/core/testing';
import { generateSandboxCodes } from '@hes/sandbox';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChecksRepository } from '../src/adapters/checks-repository.js';
import { WorkerMetrics } from '../src/adapters/metrics.js';
import { reconcile } from '../src/domain/reconciler.js';
import { purgeRetention } from '../src/domain/retention.js';
import { RETENTION_SCHEDULER_ID } from '../src/maintenance-loop.js';
import { Harness } from './harness.js';

let h: Harness;
let pool: PgPool;
let seed = 500;
const fresh = (n: number) => generateSandboxCodes('RISKLESS', n, ++seed);

beforeAll(async () => {
  h = await Harness.start('worker-reconciler');
  pool = createPgPool(h.db.url, { max: 4 });
});
afterEach(async () => {
  for (const rt of [...h.runtimes]) await rt.close();
});
afterAll(async () => {
  await pool?.end();
  await h?.close();
});

const allCompleted = (ids: readonly string[], timeoutMs = 20_000) =>
  waitFor(
    async () =>
      (await h.db.prisma.check.count({ where: { id: { in: [...ids] }, status: 'completed' } })) ===
      ids.length,
    { timeoutMs, message: 'every check to complete' },
  );

function reconcilerFor(staleMs: number, pageSize?: number) {
  return {
    ...(pageSize !== undefined ? { pageSize } : {}),
    repo: new ChecksRepository(pool),
    queue: h.queue,
    retry: h.retry,
    metrics: new WorkerMetrics({ defaultMetrics: false }),
    logger: h.logger,
    staleMs,
    maxRows: 50_000,
  };
}

describe('reconciler', () => {
  it('leaves checks whose job still exists alone and re-drives those whose job is gone', async () => {
    const inserted = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(5) });
    const options = reconcilerFor(0);
    expect(await reconcile(options)).toMatchObject({ scanned: 5, jobsMissing: 0, redriven: 0 });

    for (const plan of inserted.plans) await h.queue.remove(plan.jobId);
    expect(await reconcile(options)).toMatchObject({ scanned: 5, jobsMissing: 5, redriven: 5 });
    for (const plan of inserted.plans) expect(await h.queue.getJobState(plan.jobId)).toBe('waiting');
    expect((await options.metrics.redriven.get()).values[0]?.value).toBe(5);
    // Re-driven rows were touched: a reconciler that only looks at stale rows leaves them alone now.
    expect(await reconcile(reconcilerFor(60_000))).toMatchObject({ scanned: 0 });

    await h.startWorker();
    await allCompleted(inserted.ids);
  });

  it('re-drives roster checks in the roster lane and single checks in the interactive one', async () => {
    const roster = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(2), roster: true });
    const single = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(1) });
    expect(await h.queue.getJobState(roster.plans[0]!.jobId)).toBe('prioritized');
    expect(await h.queue.getJobState(single.plans[0]!.jobId)).toBe('waiting');
    for (const plan of [...roster.plans, ...single.plans]) await h.queue.remove(plan.jobId);
    expect(await reconcile(reconcilerFor(0))).toMatchObject({ jobsMissing: 3, redriven: 3 });
    for (const plan of roster.plans) expect(await h.queue.getJobState(plan.jobId)).toBe('prioritized');
    expect(await h.queue.getJobState(single.plans[0]!.jobId)).toBe('waiting');
    await h.startWorker();
    await allCompleted([...roster.ids, ...single.ids]);
  });

  it('pages through stale rows: every page is checked and re-driven, the cap holds', async () => {
    const inserted = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(7) });
    for (const plan of inserted.plans) await h.queue.remove(plan.jobId);
    // maxRows caps a pass: 5 of the 7, oldest first, read two at a time.
    expect(await reconcile({ ...reconcilerFor(0, 2), maxRows: 5 })).toMatchObject({
      scanned: 5,
      jobsMissing: 5,
      redriven: 5,
    });
    // The next pass sees all 7 (the re-driven five have a job now), re-drives the other two.
    expect(await reconcile(reconcilerFor(0, 3))).toMatchObject({ scanned: 7, jobsMissing: 2, redriven: 2 });
    for (const plan of inserted.plans) expect(await h.queue.getJobState(plan.jobId)).toBe('waiting');
    for (const plan of inserted.plans) await h.queue.remove(plan.jobId);
    await h.db.prisma.check.updateMany({ where: { id: { in: inserted.ids } }, data: { status: 'failed' } });
  });

  it('re-drives lost enqueues: singles keep their id, roster chunks are re-planned, orphans get a job', async () => {
    h.sandbox.sandbox.stats.reset();
    const singles = await h.insertChecks({ kind: 'standard', codes: fresh(4) });
    const roster = await h.insertChecks({ kind: 'standard', codes: fresh(120), roster: true, chunkSize: 50 });
    const orphans = await h.insertChecks({ kind: 'visitor', codes: fresh(2), visit: visit() });
    await h.db.prisma.check.updateMany({ where: { id: { in: orphans.ids } }, data: { jobId: null } });
    // Nothing was enqueued (the API died after its INSERT). The worker's own reconciler finds them.
    const rt = await h.startWorker({ RECONCILE_STALE_MS: '0' });
    const report = await rt.reconcileNow();
    expect(report).toMatchObject({ scanned: 126, redriven: 126 });
    await allCompleted([...singles.ids, ...roster.ids, ...orphans.ids]);

    const stats = h.stats();
    // The roster's re-planned chunk went in one call; the four standard singles alone or sharing calls.
    expect(stats.bulk.sizes).toContain(120);
    expect(stats.byEndpoint['check-hes-code'] + stats.bulk.codes - 120).toBe(4);
    expect(stats.byEndpoint['check-visitor-hes-code']).toBe(2);
    const singleRows = await h.checks(singles.ids);
    expect(singleRows.map((r) => r.jobId)).toEqual(singles.ids.map((id) => planSingle(id).jobId));
    const rosterJobs = new Set((await h.checks(roster.ids)).map((r) => r.jobId));
    expect(rosterJobs.size).toBe(1);
    expect([...rosterJobs][0]).toMatch(new RegExp(`^bulk-${roster.batchId}-`));
    expect((await h.checks(orphans.ids)).every((r) => r.jobId?.startsWith('single-'))).toBe(true);
    const batch = await h.db.prisma.batch.findUniqueOrThrow({ where: { id: roster.batchId! } });
    expect(batch.status).toBe('completed');
  });

  it('treats a failed job with pending checks as missing: removes it and enqueues it again', async () => {
    const inserted = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(3) });
    // A job can fail for reasons that never reached the checks (here: a worker that rejects everything).
    const saboteur = new Worker(
      QUEUES.checks,
      async () => {
        throw new UnrecoverableError('simulated');
      },
      { connection: h.redis.connection.duplicate(), prefix: h.redis.prefix },
    );
    await waitFor(async () => {
      const states = await Promise.all(inserted.plans.map((p) => h.queue.getJobState(p.jobId)));
      return states.every((s) => s === 'failed');
    });
    await saboteur.close();
    expect(await h.countPending(inserted.ids)).toBe(3);

    expect(await reconcile(reconcilerFor(0))).toMatchObject({ jobsMissing: 3, redriven: 3 });
    await h.startWorker();
    await allCompleted(inserted.ids);
  });

  it('heals a Redis flush during work from the in-process timer, scheduler included', async () => {
    const maintenance = new Queue(QUEUES.maintenance, {
      connection: h.redis.connection,
      prefix: h.redis.prefix,
    });
    const rt = await h.startWorker(
      { HES_RATE_LIMIT_RPS: '20', RECONCILE_INTERVAL_MS: '300', RECONCILE_STALE_MS: '200' },
      { maintenance: true },
    );
    await waitFor(() => maintenance.getJobScheduler(RETENTION_SCHEDULER_ID), {
      message: 'retention scheduler',
    });
    const inserted = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(40) });
    await waitFor(
      async () =>
        (await h.db.prisma.check.count({ where: { id: { in: inserted.ids }, status: 'completed' } })) >= 5,
    );
    // Every tick re-upserts the scheduler, so "gone right after the flush" races the 300 ms timer. An
    // upsert keeps a scheduler's iteration count, so a count no upsert writes marks this very scheduler:
    // it can only come back with a fresh count if the flush removed it and a tick created it again.
    await h.redis.connection.hset(maintenance.toKey(`repeat:${RETENTION_SCHEDULER_ID}`), 'ic', '4242');
    expect((await maintenance.getJobScheduler(RETENTION_SCHEDULER_ID))?.iterationCount).toBe(4242);
    expect(await h.redis.flush()).toBeGreaterThan(0);

    await allCompleted(inserted.ids, 30_000);
    await waitFor(async () => ((await rt.metrics.redriven.get()).values[0]?.value ?? 0) > 0, {
      message: 'the re-drive to be counted',
    });
    await waitFor(
      async () => (await maintenance.getJobScheduler(RETENTION_SCHEDULER_ID))?.iterationCount === 1,
      { message: 'scheduler re-created' },
    );
    await maintenance.close();
  });
});

describe('retention purge', () => {
  it('deletes exactly the results, batches and idempotency records older than RETENTION_DAYS', async () => {
    const { prisma } = h.db;
    await prisma.check.deleteMany({});
    await prisma.batch.deleteMany({});
    const now = new Date('2030-01-31T00:00:00.000Z');
    const cutoff = new Date('2030-01-01T00:00:00.000Z'); // 30 days earlier
    const before = new Date(cutoff.getTime() - 60_000);
    const after = new Date(cutoff.getTime() + 60_000);
    const ancient = new Date('2029-06-01T00:00:00.000Z');

    const [oldBatch, mixedBatch, runningBatch] = [randomUUID(), randomUUID(), randomUUID()];
    await prisma.batch.createMany({
      data: [
        {
          id: oldBatch,
          kind: 'standard',
          total: 10,
          status: 'completed',
          completedAt: before,
          createdAt: ancient,
        },
        {
          id: mixedBatch,
          kind: 'standard',
          total: 2,
          status: 'completed',
          completedAt: before,
          createdAt: ancient,
        },
        { id: runningBatch, kind: 'standard', total: 1, status: 'running', createdAt: ancient },
      ],
    });
    const row = (over: Record<string, unknown>) => ({
      id: randomUUID(),
      kind: 'standard' as const,
      codeMasked: 'A1******E5',
      createdAt: ancient,
      ...over,
    });
    const expired = [
      ...Array.from({ length: 10 }, () =>
        row({ batchId: oldBatch, status: 'completed', completedAt: before }),
      ),
      ...Array.from({ length: 9 }, () => row({ status: 'failed', completedAt: before })),
      row({ batchId: mixedBatch, status: 'completed', completedAt: before }),
    ];
    const kept = [
      row({ batchId: mixedBatch, status: 'completed', completedAt: after }),
      row({ status: 'completed', completedAt: after }),
      row({ status: 'queued', codeCipher: randomBytes(40) }),
      row({ batchId: runningBatch, status: 'processing', codeCipher: randomBytes(40) }),
    ];
    await prisma.check.createMany({ data: [...expired, ...kept] as never });
    const apiKey = await prisma.apiKey.create({
      data: { name: 'retention', prefix: 'hes_ret', hash: randomUUID(), scopes: ['checks:write'] },
    });
    await prisma.idempotencyRecord.createMany({
      data: [
        { apiKeyId: apiKey.id, key: 'old', requestHash: 'x', checkId: kept[1]!.id, createdAt: before },
        { apiKeyId: apiKey.id, key: 'new', requestHash: 'y', checkId: kept[1]!.id, createdAt: after },
      ],
    });

    const metrics = new WorkerMetrics({ defaultMetrics: false });
    const repo = new ChecksRepository(pool);
    const report = await purgeRetention(
      { repo, metrics, logger: h.logger, retentionDays: 30, batchSize: 7 },
      now,
    );

    expect(report).toEqual({ cutoff, checks: 20, batches: 1, idempotencyRecords: 1 });
    const left = await prisma.check.findMany({ select: { id: true } });
    expect(left.map((c) => c.id).sort()).toEqual(kept.map((c) => c.id).sort());
    const batches = await prisma.batch.findMany({ select: { id: true } });
    expect(batches.map((b) => b.id).sort()).toEqual([mixedBatch, runningBatch].sort());
    expect((await prisma.idempotencyRecord.findMany()).map((r) => r.key)).toEqual(['new']);
    const purged = await metrics.purged.get();
    expect(Object.fromEntries(purged.values.map((v) => [v.labels.table, v.value]))).toEqual({
      checks: 20,
      batches: 1,
      idempotency_records: 1,
    });
    // A second run has nothing left to do.
    expect(await purgeRetention({ repo, metrics, logger: h.logger, retentionDays: 30 }, now)).toMatchObject({
      checks: 0,
      batches: 0,
      idempotencyRecords: 0,
    });
  });

  it("takes its cutoff from PostgreSQL's clock, not from a worker clock that runs ahead", async () => {
    const { prisma } = h.db;
    await prisma.check.deleteMany({});
    const DAY = 86_400_000;
    const recent = {
      id: randomUUID(),
      kind: 'standard' as const,
      codeMasked: 'A1******E5',
      status: 'completed' as const,
    };
    const old = { ...recent, id: randomUUID() };
    await prisma.check.createMany({
      data: [
        { ...recent, completedAt: new Date(Date.now() - 2 * DAY) },
        { ...old, completedAt: new Date(Date.now() - 31 * DAY) },
      ],
    });
    const repo = new ChecksRepository(pool);
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    // The worker's clock is 60 days ahead (a broken NTP, a wrong VM snapshot): by it, both rows are old.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 60 * DAY });
    try {
      const report = await purgeRetention({ repo, metrics, logger: h.logger, retentionDays: 30 });
      expect(report.checks).toBe(1);
      expect(Math.abs(report.cutoff.getTime() - (Date.now() - 90 * DAY))).toBeLessThan(60_000);
    } finally {
      vi.useRealTimers();
    }
    expect((await prisma.check.findMany({ select: { id: true } })).map((c) => c.id)).toEqual([recent.id]);
  });
});

function visit() {
  return { city: 'İZMİR', district: 'KONAK', address: 'Alsancak' };
}

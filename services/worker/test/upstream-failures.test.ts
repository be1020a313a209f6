import { CHECK_ERROR_CODES } from '@hes/core';
import { waitFor } from '@hes/core/testing';
import { FAULTS_OFF, generateSandboxCodes } from '@hes/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WorkerRuntime } from '../src/create-worker-runtime.js';
import { Harness } from './harness.js';

let h: Harness;
let seed = 100;
const fresh = (n: number, outcome: 'RISKLESS' | 'RISKY' = 'RISKLESS') =>
  generateSandboxCodes(outcome, n, ++seed);

beforeAll(async () => {
  h = await Harness.start('worker-upstream-failures');
});
afterEach(async () => {
  h.sandbox.sandbox.faults.update({ ...FAULTS_OFF });
  for (const rt of [...h.runtimes]) await rt.close();
});
afterAll(async () => {
  await h?.close();
});

const allFinal = (ids: readonly string[], timeoutMs = 20_000) =>
  waitFor(async () => (await h.countPending(ids)) === 0, { timeoutMs, message: 'checks to become final' });

async function metric(rt: WorkerRuntime, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await rt.metrics.registry.getSingleMetric(name)?.get();
  return (m?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('429: fleet-wide pause, attempts not consumed', () => {
  it('completes every check through a 429 storm without using up the attempts budget', async () => {
    // Our limit (20/s) is above what the "Ministry" admits (4/s): it answers 429 with Retry-After.
    h.sandbox.sandbox.faults.update({ rateLimitRps: 4 });
    const rt = await h.startWorker({ HES_RATE_LIMIT_RPS: '20', WORKER_CONCURRENCY: '8' });
    h.sandbox.sandbox.stats.reset();
    const inserted = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(20) }, { maxAttempts: 2 });
    await allFinal(inserted.ids, 30_000);

    const rows = await h.checks(inserted.ids);
    expect(rows.every((r) => r.status === 'completed' && r.outcome === 'RISKLESS')).toBe(true);
    expect(rows.map((r) => r.attempts)).toEqual(rows.map(() => 1));
    const stats = h.stats();
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(stats.acceptedRequests).toBe(20);
    // The pause is fleet-wide: after each 429 nobody calls for a second, so 429s stay few.
    expect(stats.rateLimited).toBeLessThanOrEqual(20);
    expect(await metric(rt, 'hes_worker_throttle_pauses_total')).toBeGreaterThan(0);
    expect(await metric(rt, 'hes_worker_retries_total')).toBe(0);
    expect(await metric(rt, 'hes_worker_upstream_requests_total', { result: 'throttled' })).toBe(
      stats.rateLimited,
    );
  });
});

describe('transient failures: retried with backoff, then given up', () => {
  it('retries 5xx answers and completes once the Ministry recovers', async () => {
    const rt = await h.startWorker();
    h.sandbox.sandbox.faults.update({ errorRate: 1 });
    h.sandbox.sandbox.stats.reset();
    const single = await h.insertAndEnqueue(
      { kind: 'standard', codes: fresh(4, 'RISKY') },
      { maxAttempts: 50 },
    );
    const roster = await h.insertAndEnqueue(
      { kind: 'standard', codes: fresh(30), roster: true },
      { maxAttempts: 50 },
    );
    await waitFor(() => h.stats().serverErrors >= 15, { message: 'a few rounds of 5xx' });
    h.sandbox.sandbox.faults.update({ errorRate: 0 });
    const ids = [...single.ids, ...roster.ids];
    await allFinal(ids);

    const rows = await h.checks(ids);
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    expect(rows.every((r) => r.attempts >= 2)).toBe(true);
    expect(rows.every((r) => r.codeCipher === null)).toBe(true);
    expect(await metric(rt, 'hes_worker_retries_total')).toBeGreaterThanOrEqual(5);
    expect(await metric(rt, 'hes_worker_upstream_requests_total', { result: 'transient' })).toBe(
      h.stats().serverErrors,
    );
    const batch = await h.db.prisma.batch.findUniqueOrThrow({ where: { id: roster.batchId! } });
    expect(batch.status).toBe('completed');
  });

  it('fails the checks with UPSTREAM_UNAVAILABLE on the last attempt, erases the code, leaves no job', async () => {
    await h.startWorker();
    h.sandbox.sandbox.faults.update({ errorRate: 1 });
    h.sandbox.sandbox.stats.reset();
    const single = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(3) }, { maxAttempts: 3 });
    const roster = await h.insertAndEnqueue(
      { kind: 'plus', codes: fresh(12), roster: true },
      { maxAttempts: 3 },
    );
    const ids = [...single.ids, ...roster.ids];
    await allFinal(ids);

    for (const r of await h.checks(ids)) {
      expect(r).toMatchObject({
        status: 'failed',
        errorCode: CHECK_ERROR_CODES.exhausted,
        attempts: 3,
        codeCipher: null,
      });
      expect(r.errorMessage).toContain('HesServerError');
      expect(r.completedAt).toBeInstanceOf(Date);
    }
    // 3 attempts × (3 singles + 1 bulk call), and not one more.
    expect(h.stats().serverErrors).toBe(12);
    await waitFor(async () => {
      const c = await h.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      return Object.values(c).every((n) => n === 0);
    });
    const batch = await h.db.prisma.batch.findUniqueOrThrow({ where: { id: roster.batchId! } });
    expect(batch.status).toBe('completed');
  });

  it('retries only the codes a bulk answer left out (MISSING), in a second, smaller call', async () => {
    const { api, close } = h.droppingFirstBulkCode();
    await h.startWorker({}, { api });
    h.sandbox.sandbox.stats.reset();
    const roster = await h.insertAndEnqueue({ kind: 'standard', codes: fresh(20), roster: true });
    await allFinal(roster.ids);
    await close();

    expect(h.stats().bulk.sizes).toEqual([20, 1]);
    const rows = await h.checks(roster.ids);
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    expect(rows.filter((r) => r.attempts === 2)).toHaveLength(1);
  });
});

describe('rejected credentials: fleet-wide circuit', () => {
  // Each case starts as a fresh deployment: nothing known about the credentials yet.
  const CREDENTIALS_KEYS = ['failing', 'open', 'probe', 'verified'];
  const forget = () =>
    h.redis.connection.del(...CREDENTIALS_KEYS.map((k) => `${h.redis.prefix}:hes:credentials:${k}`));
  beforeEach(forget);
  afterEach(forget);

  it('fails every check with UPSTREAM_CREDENTIALS_REJECTED after a bounded number of calls', async () => {
    const rt = await h.startWorker({ HES_PASSWORD: 'not-the-password', WORKER_CONCURRENCY: '16' });
    h.sandbox.sandbox.stats.reset();
    const logsBefore = h.logs.lines.length;
    const inserted = await h.insertAndEnqueue({ kind: 'employee', codes: fresh(50) });
    await allFinal(inserted.ids);

    for (const r of await h.checks(inserted.ids)) {
      expect(r).toMatchObject({
        status: 'failed',
        errorCode: CHECK_ERROR_CODES.credentials,
        codeCipher: null,
      });
      expect(r.errorMessage).toContain('HES_USERNAME/HES_PASSWORD');
    }
    // Credentials not yet known good: one call goes out, the other 49 wait for its verdict.
    expect(h.stats().authFailures).toBe(1);
    expect(h.stats().totalRequests).toBe(1);
    expect(await rt.metrics.registry.metrics()).toContain('hes_worker_upstream_credentials_failing 1');
    const errorLines = h.logs.lines
      .slice(logsBefore)
      .filter((l) => l.includes('"level":"error"') && l.includes('HES_USERNAME/HES_PASSWORD'));
    expect(errorLines).toHaveLength(1);
  });

  it('after the cooldown one process probes; fixed credentials close the circuit for everyone', async () => {
    // 20/s: requests 50 ms apart, so the first 401 is back before anyone else is sent.
    const wrong = await h.startWorker({
      HES_PASSWORD: 'not-the-password',
      CREDENTIALS_COOLDOWN_MS: '1000',
      HES_RATE_LIMIT_RPS: '20',
    });
    h.sandbox.sandbox.stats.reset();
    const first = await h.insertAndEnqueue({ kind: 'standard', codes: fresh(10) });
    await allFinal(first.ids);
    expect(h.stats().authFailures).toBe(1);

    await waitFor(async () => !(await wrong.circuit.isOpen()), { message: 'the cooldown to end' });
    const second = await h.insertAndEnqueue({ kind: 'standard', codes: fresh(10) });
    await allFinal(second.ids);
    // One probe after the cooldown, rejected again; the other nine failed without a call.
    expect(h.stats().authFailures).toBe(2);
    await wrong.close();

    // The operator fixes HES_PASSWORD and restarts: the first call after the cooldown probes and succeeds.
    const fixed = await h.startWorker({ CREDENTIALS_COOLDOWN_MS: '1000' });
    await waitFor(async () => !(await fixed.circuit.isOpen()), { message: 'the cooldown to end' });
    const third = await h.insertAndEnqueue({ kind: 'standard', codes: fresh(10) });
    await allFinal(third.ids);
    const rows = await h.checks(third.ids);
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    expect(await fixed.circuit.isFailing()).toBe(false);
    expect(await fixed.metrics.registry.metrics()).toContain('hes_worker_upstream_credentials_failing 0');
  });
});

describe("poison jobs: failing on our side, not the Ministry's", () => {
  it('fails the checks with PROCESSING_FAILED on the last attempt instead of re-driving them forever', async () => {
    // A real fault in PostgreSQL: a trigger refuses to store a *completed* result for these rows, so
    // every attempt's result write throws (what a bug or a poison row does); a *failed* write passes.
    await h.db.prisma.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION poison_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'poisoned row'; END $$`);
    await h.db.prisma.$executeRawUnsafe(`
      CREATE TRIGGER poison_refuse BEFORE UPDATE ON checks FOR EACH ROW
      WHEN (NEW.reference LIKE 'poison-%' AND NEW.status = 'completed') EXECUTE FUNCTION poison_refuse()`);
    try {
      const rt = await h.startWorker();
      const single = await h.insertChecks({ kind: 'employee', codes: fresh(2) });
      const roster = await h.insertChecks({ kind: 'standard', codes: fresh(6), roster: true });
      const ids = [...single.ids, ...roster.ids];
      // Poisoned before their jobs exist: marking rows a running worker is already claiming could
      // deadlock with the claim (seen in CI), which is not what this test is about.
      await h.db.prisma.check.updateMany({ where: { id: { in: ids } }, data: { reference: 'poison-1' } });
      await h.enqueue([...single.plans, ...roster.plans], { maxAttempts: 3 });
      await allFinal(ids);

      for (const r of await h.checks(ids)) {
        expect(r).toMatchObject({
          status: 'failed',
          errorCode: 'PROCESSING_FAILED',
          attempts: 3,
          codeCipher: null,
        });
        expect(r.errorMessage).toContain('attempts used up');
      }
      const batch = await h.db.prisma.batch.findUniqueOrThrow({ where: { id: roster.batchId! } });
      expect(batch.status).toBe('completed');
      // Final now: a reconciler pass finds nothing to re-drive.
      expect((await rt.reconcileNow()).redriven).toBe(0);
      expect(await metric(rt, 'hes_worker_checks_failed_total', { code: 'PROCESSING_FAILED' })).toBe(
        ids.length,
      );
    } finally {
      await h.db.prisma.$executeRawUnsafe('DROP TRIGGER poison_refuse ON checks');
    }
  });
});

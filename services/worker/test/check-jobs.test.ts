import { randomUUID } from 'node:crypto';
import { CHECK_ERROR_CODES, planBulk, planSingle } from '@hes/core';
import { waitFor } from '@hes/core/testing';
import { generateSandboxCodes } from '@hes/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerRuntime } from '../src/create-worker-runtime.js';
import { Harness } from './harness.js';
import { expectFourOutcomes, fourOutcomeCodes, matchFirstMissSecond } from './outcomes.js';

let h: Harness;
let runtime: WorkerRuntime;
/** Every code this file sends: none may survive in Redis, the database or the logs. */
const allCodes: string[] = [];
const codes = (outcome: Parameters<typeof generateSandboxCodes>[0], n: number, seed: number) => {
  const list = generateSandboxCodes(outcome, n, seed);
  allCodes.push(...list);
  return list;
};

beforeAll(async () => {
  h = await Harness.start('worker-checks');
  runtime = await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

const queueIdle = () =>
  waitFor(
    async () => {
      const c = await h.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0);
    },
    { message: 'the queue to drain' },
  );

/** Final in PostgreSQL, and the jobs done too (metrics and events come right after the write). */
const allFinal = async (ids: readonly string[], timeoutMs = 15_000) => {
  await waitFor(async () => (await h.countPending(ids)) === 0, {
    timeoutMs,
    message: 'checks to become final',
  });
  await queueIdle();
};

describe('check jobs against the sandbox', () => {
  it('calls the endpoint of each kind and stores the outcome, person, expiry, identity match and plus', async () => {
    h.sandbox.sandbox.stats.reset();
    const four = fourOutcomeCodes(11);
    allCodes.push(...four);
    const standard = await h.insertAndEnqueue({
      kind: 'standard',
      codes: four,
      identityLast3: matchFirstMissSecond,
    });
    const employee = await h.insertAndEnqueue({ kind: 'employee', codes: codes('RISKLESS', 1, 15) });
    const visitor = await h.insertAndEnqueue({
      kind: 'visitor',
      codes: codes('RISKY', 1, 16),
      visit: {
        city: 'ANKARA',
        district: 'ÇANKAYA',
        address: 'Kızılay Mh. 1',
        latitude: 39.92,
        longitude: 32.85,
      },
    });
    const plusCodes = [...generateSandboxCodes('RISKLESS', 3, 17, { profile: 'VACCINATED' })];
    allCodes.push(...plusCodes);
    const plus = await h.insertAndEnqueue({ kind: 'plus', codes: plusCodes });
    const ids = [...standard.ids, ...employee.ids, ...visitor.ids, ...plus.ids];
    await allFinal(ids);

    const stats = h.stats();
    const calls = stats.byEndpoint;
    expect(calls).toMatchObject({ 'check-employee-hes-code': 1, 'check-visitor-hes-code': 1 });
    // Standard and plus singles that want the Ministry at the same moment may share a bulk call
    // (shared-calls.test.ts); however they went, each code went once.
    expect(calls['check-hes-code'] + calls['check-hes-codes']).toBeGreaterThanOrEqual(1);
    expect(calls['check-hes-code'] + calls['check-hes-codes']).toBeLessThanOrEqual(4);
    expect(calls['check-hes-code-plus'] + calls['check-hes-codes-plus']).toBeGreaterThanOrEqual(1);
    expect(calls['check-hes-code-plus'] + calls['check-hes-codes-plus']).toBeLessThanOrEqual(3);
    expect(calls['check-hes-code'] + calls['check-hes-code-plus'] + stats.bulk.codes).toBe(7);

    const rows = new Map((await h.checks(ids)).map((r) => [r.id, r]));
    const row = (id: string) => rows.get(id)!;
    expectFourOutcomes(standard.ids.map(row), four[0]);
    expect(row(employee.ids[0]!)).toMatchObject({ status: 'completed', outcome: 'RISKLESS', plus: null });
    expect(row(visitor.ids[0]!)).toMatchObject({ status: 'completed', outcome: 'RISKY' });
    for (const id of plus.ids) {
      const p = row(id).plus as Record<string, unknown>;
      expect(row(id)).toMatchObject({ status: 'completed', outcome: 'RISKLESS' });
      expect(p.vaccinated).toBe(true);
      for (const field of ['immune', 'testDataShared'] as const)
        expect([true, false, null]).toContain(p[field]);
      expect(p.lastNegativeTestAt === null || !Number.isNaN(Date.parse(String(p.lastNegativeTestAt)))).toBe(
        true,
      );
    }
    for (const r of rows.values()) {
      expect(r.codeCipher).toBeNull();
      expect(r.completedAt).toBeInstanceOf(Date);
      expect(r.errorCode).toBeNull();
    }
  });

  it('sends a roster chunk of 500 codes in exactly one bulk call and completes the batch', async () => {
    h.sandbox.sandbox.stats.reset();
    const roster = [
      ...codes('RISKLESS', 400, 21),
      ...codes('RISKY', 50, 22),
      ...codes('NOT_FOUND', 25, 23),
      ...codes('EXPIRED', 25, 24),
    ];
    const inserted = await h.insertAndEnqueue({ kind: 'standard', codes: roster, roster: true });
    expect(inserted.plans).toHaveLength(1);
    await allFinal(inserted.ids);

    const stats = h.stats();
    expect(stats.bulk.calls).toBe(1);
    expect(stats.bulk.sizes).toEqual([500]);
    expect(stats.acceptedRequests).toBe(1);
    const byOutcome = await h.db.prisma.check.groupBy({
      by: ['outcome'],
      where: { batchId: inserted.batchId! },
      _count: true,
    });
    expect(Object.fromEntries(byOutcome.map((g) => [g.outcome, g._count]))).toEqual({
      RISKLESS: 400,
      RISKY: 50,
      NOT_FOUND: 25,
      EXPIRED: 25,
    });
    const batch = await h.db.prisma.batch.findUniqueOrThrow({ where: { id: inserted.batchId! } });
    expect(batch.status).toBe('completed');
    expect(batch.completedAt).toBeInstanceOf(Date);
    expect(await h.db.prisma.check.count({ where: { codeCipher: { not: null } } })).toBe(0);

    const metrics = await runtime.metrics.registry.getSingleMetricAsString(
      'hes_worker_upstream_codes_per_call',
    );
    expect(metrics).toMatch(/hes_worker_upstream_codes_per_call_bucket\{le="500"\} [1-9]/);
  });

  it('sends plus rosters to check-hes-codes-plus with real booleans, a duplicated code asked once', async () => {
    h.sandbox.sandbox.stats.reset();
    const list = codes('RISKLESS', 29, 25);
    const inserted = await h.insertAndEnqueue({ kind: 'plus', codes: [...list, list[0]!], roster: true });
    await allFinal(inserted.ids);
    const stats = h.stats();
    expect(stats.byEndpoint['check-hes-codes-plus']).toBe(1);
    expect(stats.bulk.sizes).toEqual([29]);
    for (const r of await h.checks(inserted.ids)) {
      expect(r.status).toBe('completed');
      const p = r.plus as Record<string, unknown>;
      for (const field of ['vaccinated', 'immune', 'testDataShared'] as const) {
        expect([true, false, null]).toContain(p[field]);
      }
    }
  });

  it('writes one result for redelivered and duplicated jobs, and never completes a batch twice', async () => {
    const roster = codes('RISKY', 40, 31);
    const inserted = await h.insertAndEnqueue({ kind: 'standard', codes: roster, roster: true });
    await allFinal(inserted.ids);
    const before = await h.checks(inserted.ids);
    const batchBefore = await h.db.prisma.batch.findUniqueOrThrow({ where: { id: inserted.batchId! } });
    const completedBefore = await counter(runtime, 'hes_worker_checks_completed_total');
    h.sandbox.sandbox.stats.reset();

    // The same job again (a redelivery after a crash), a duplicate under another id, and a single.
    await h.enqueue(inserted.plans);
    await h.enqueue(planBulk('standard', inserted.batchId, [...inserted.ids].reverse()));
    await h.enqueue([planSingle(inserted.ids[0]!)]);
    await queueIdle();

    expect(h.stats().acceptedRequests).toBe(0);
    const after = await h.checks(inserted.ids);
    expect(after.map((r) => [r.status, r.completedAt?.getTime(), r.attempts])).toEqual(
      before.map((r) => [r.status, r.completedAt?.getTime(), r.attempts]),
    );
    const batchAfter = await h.db.prisma.batch.findUniqueOrThrow({ where: { id: inserted.batchId! } });
    expect(batchAfter.completedAt?.getTime()).toBe(batchBefore.completedAt?.getTime());
    expect(await counter(runtime, 'hes_worker_checks_completed_total')).toBe(completedBefore);
  });

  it('two jobs racing for the same checks produce one result each and one completion event each', async () => {
    const roster = codes('RISKLESS', 60, 32);
    const inserted = await h.insertChecks({ kind: 'standard', codes: roster, roster: true });
    const events: string[] = [];
    const sub = h.redis.connection.duplicate();
    await sub.subscribe(`${h.redis.prefix}:events:checks-final`);
    sub.on('message', (_channel: string, message: string) => events.push(...message.split(',')));
    const completedBefore = await counter(runtime, 'hes_worker_checks_completed_total');
    await h.enqueue([
      ...inserted.plans,
      ...planBulk('standard', inserted.batchId, [...inserted.ids].reverse()),
    ]);
    await allFinal(inserted.ids);
    await queueIdle();
    await waitFor(() => events.length >= inserted.ids.length, { message: 'completion events' });
    await sub.quit();
    expect(new Set(events).size).toBe(inserted.ids.length);
    expect(events).toHaveLength(inserted.ids.length);
    expect((await counter(runtime, 'hes_worker_checks_completed_total')) - completedBefore).toBe(60);
  });

  it('fails an undecryptable check with CODE_UNDECRYPTABLE and answers a malformed one INVALID, no call', async () => {
    h.sandbox.sandbox.stats.reset();
    const [good] = codes('RISKLESS', 1, 41);
    const inserted = await h.insertChecks({ kind: 'standard', codes: [good!, 'TOO-SHORT'] });
    // Ciphertext bound to another row (AAD mismatch) cannot be decrypted.
    await h.db.prisma.check.update({
      where: { id: inserted.ids[0]! },
      data: { codeCipher: h.vault.encrypt(good!, randomUUID()) },
    });
    await h.enqueue(inserted.plans);
    await allFinal(inserted.ids);
    const [undecryptable, malformed] = await h.checks(inserted.ids);
    expect(undecryptable).toMatchObject({ status: 'failed', errorCode: CHECK_ERROR_CODES.undecryptable });
    expect(malformed).toMatchObject({ status: 'completed', outcome: 'INVALID' });
    expect(undecryptable!.codeCipher).toBeNull();
    expect(malformed!.codeCipher).toBeNull();
    expect(h.stats().totalRequests).toBe(0);
  });

  it('exposes its metrics, including the scrape-time queue and backlog gauges', async () => {
    const text = await runtime.metrics.registry.metrics();
    for (const name of [
      'hes_worker_upstream_requests_total{endpoint="check-hes-codes",result="ok"}',
      'hes_worker_upstream_request_duration_seconds_bucket',
      'hes_worker_rate_limit_rps 500',
      'hes_worker_upstream_credentials_failing 0',
      'hes_worker_checks_completed_total{kind="standard",outcome="RISKY"}',
      'hes_worker_checks_failed_total{kind="standard",code="CODE_UNDECRYPTABLE"} 1',
      'hes_worker_check_latency_seconds_bucket',
      'hes_worker_queue_jobs{state="waiting"} 0',
      'hes_worker_oldest_pending_check_age_seconds 0',
      'process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
    // How long jobs waited for a worker, per lane: this file ran singles and roster chunks.
    for (const lane of ['interactive', 'roster']) {
      const count = new RegExp(
        `^hes_worker_job_queue_wait_seconds_count\\{lane="${lane}"\\} (\\d+)$`,
        'm',
      ).exec(text);
      expect(Number(count?.[1])).toBeGreaterThan(0);
    }
  });

  it('leaves no code behind: no ciphertext in PostgreSQL, no code in Redis or in the logs', async () => {
    expect(await h.db.prisma.check.count({ where: { codeCipher: { not: null } } })).toBe(0);
    const dump = await h.redisDump();
    expect(dump.length).toBeGreaterThan(0);
    const logs = h.logs.text;
    expect(logs).toContain('check job done');
    for (const code of allCodes) {
      expect(dump.includes(code), 'a code in Redis').toBe(false);
      expect(logs.includes(code), 'a code in the logs').toBe(false);
    }
  });
});

async function counter(rt: WorkerRuntime, name: string): Promise<number> {
  const metric = await rt.metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

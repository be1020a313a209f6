/**
 * The promises of SPEC §5 under failure, end to end: a worker process killed with SIGKILL mid-roster,
 * Redis losing every key while checks are pending, a 429 storm from the Ministry, and rejected
 * credentials. Each scenario has its own stack (database, Redis prefix, sandbox).
 */
import { generateSandboxCodes } from '@hes/sandbox';
import { afterEach, describe, expect, it } from 'vitest';
import { type Stack, startStack, waitFor } from './support/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function submitRoster(s: Stack, kind: string, codes: string[]) {
  const res = await s.api.inject({
    method: 'POST',
    url: '/v1/batches',
    headers: s.headers,
    payload: { kind, items: codes.map((hesCode, i) => ({ hesCode, reference: `${kind}-${i}` })) },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
}

async function submitSingles(s: Stack, kind: string, codes: string[]) {
  const ids: string[] = [];
  for (const hesCode of codes) {
    const res = await s.api.inject({
      method: 'POST',
      url: '/v1/checks',
      headers: s.headers,
      payload: { hesCode, kind },
    });
    expect(res.statusCode).toBe(202);
    ids.push(res.json().id);
  }
  return ids;
}

const countBy = (s: Stack, where: object) => s.db.prisma.check.count({ where });
const pendingCount = (s: Stack) => countBy(s, { status: { in: ['queued', 'processing'] } });

describe('resilience', () => {
  it('a worker killed with SIGKILL mid-roster: a new worker finishes every check exactly once', async () => {
    stack = await startStack('sigkill', {
      faults: { latencyMs: 40 },
      env: { HES_RATE_LIMIT_RPS: '25', WORKER_CONCURRENCY: '8', WORKER_LOCK_DURATION_MS: '3000' },
    });
    const s = stack;
    const employee = generateSandboxCodes('RISKLESS', 150, 901);
    const standard = [
      ...generateSandboxCodes('RISKY', 1500, 902),
      ...generateSandboxCodes('NOT_FOUND', 500, 903),
    ];
    const employeeBatch = await submitRoster(s, 'employee', employee);
    const standardBatch = await submitRoster(s, 'standard', standard);

    const first = s.spawnWorker();
    await waitFor(async () => (await countBy(s, { batchId: employeeBatch, status: 'completed' })) >= 30, {
      timeoutMs: 30_000,
      message: 'the first worker never made progress',
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const doneAtKill = await countBy(s, { batchId: employeeBatch, status: 'completed' });
    expect(doneAtKill).toBeLessThan(150);

    s.spawnWorker({ RECONCILE_INTERVAL_MS: '1000', RECONCILE_STALE_MS: '2000' });
    await waitFor(async () => (await pendingCount(s)) === 0, {
      timeoutMs: 60_000,
      message: 'checks left pending',
    });

    const employeeRows = await s.db.prisma.check.findMany({ where: { batchId: employeeBatch } });
    expect(employeeRows).toHaveLength(150);
    expect(employeeRows.every((r) => r.status === 'completed' && r.outcome === 'RISKLESS')).toBe(true);
    expect(new Set(employeeRows.map((r) => r.reference)).size).toBe(150);
    expect(await countBy(s, { batchId: standardBatch, outcome: 'RISKY' })).toBe(1500);
    expect(await countBy(s, { batchId: standardBatch, outcome: 'NOT_FOUND' })).toBe(500);
    for (const id of [employeeBatch, standardBatch]) {
      const batch = (
        await s.api.inject({ method: 'GET', url: `/v1/batches/${id}`, headers: s.headers })
      ).json();
      expect(batch.status).toBe('completed');
      expect(batch.counts.completed).toBe(batch.total);
    }
    // At most the calls in flight when the process died are repeated.
    const served = s.sandbox.sandbox.stats.snapshot().byEndpoint['check-employee-hes-code'];
    expect(served).toBeGreaterThanOrEqual(150);
    expect(served).toBeLessThanOrEqual(150 + 8);
  }, 120_000);

  it('Redis loses every key while checks are pending: the reconciler re-drives them all from Postgres', async () => {
    stack = await startStack('flush');
    const s = stack;
    const singles = await submitSingles(s, 'employee', generateSandboxCodes('RISKY', 20, 911));
    const batch = await submitRoster(s, 'standard', generateSandboxCodes('RISKLESS', 1200, 912));
    expect(await s.queue.count()).toBeGreaterThan(0);

    await s.redis.flush();
    expect(await s.queue.count()).toBe(0);
    expect(await pendingCount(s)).toBe(1220);

    await s.startWorker({ RECONCILE_INTERVAL_MS: '300', RECONCILE_STALE_MS: '0' });
    await waitFor(async () => (await pendingCount(s)) === 0, { timeoutMs: 30_000, message: 'not re-driven' });
    expect(await countBy(s, { id: { in: singles }, outcome: 'RISKY' })).toBe(20);
    expect(await countBy(s, { batchId: batch, outcome: 'RISKLESS' })).toBe(1200);
  }, 60_000);

  it('a 429 storm: the configured rate is never exceeded, attempts are not consumed, every check completes', async () => {
    stack = await startStack('storm', {
      faults: { rateLimitRps: 4 },
      env: { HES_RATE_LIMIT_RPS: '8', HES_MAX_ATTEMPTS: '2', WORKER_CONCURRENCY: '8' },
    });
    const s = stack;
    await s.startWorker();
    await s.startWorker();
    const ids = await submitSingles(s, 'employee', generateSandboxCodes('RISKLESS', 40, 921));
    await waitFor(async () => (await countBy(s, { id: { in: ids }, status: 'completed' })) === 40, {
      timeoutMs: 60_000,
      message: 'storm not weathered',
    });
    expect(await countBy(s, { status: 'failed' })).toBe(0);
    const stats = s.sandbox.sandbox.stats.snapshot();
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(stats.peakRpsAllArrivals).toBeLessThanOrEqual(8);
  }, 90_000);

  it('rejected credentials: checks fail with a clear error and the Ministry sees a bounded number of calls', async () => {
    stack = await startStack('creds', { env: { WORKER_CONCURRENCY: '4' } });
    const s = stack;
    await s.startWorker({ HES_PASSWORD: 'not-the-password' });
    const ids = await submitSingles(s, 'standard', generateSandboxCodes('RISKLESS', 30, 931));
    const batch = await submitRoster(s, 'standard', generateSandboxCodes('RISKLESS', 1000, 932));
    await waitFor(async () => (await pendingCount(s)) === 0, {
      timeoutMs: 30_000,
      message: 'checks left pending',
    });
    const failed = await s.db.prisma.check.findMany({
      where: { OR: [{ id: { in: ids } }, { batchId: batch }] },
    });
    expect(failed).toHaveLength(1030);
    expect(
      failed.every((c) => c.status === 'failed' && c.errorCode === 'UPSTREAM_CREDENTIALS_REJECTED'),
    ).toBe(true);
    expect(failed.every((c) => c.codeCipher === null)).toBe(true);
    const one = (
      await s.api.inject({ method: 'GET', url: `/v1/checks/${ids[0]}`, headers: s.headers })
    ).json();
    expect(one.error.code).toBe('UPSTREAM_CREDENTIALS_REJECTED');
    expect(one.error.message).toMatch(/credentials|HES_USERNAME/i);
    expect(s.sandbox.sandbox.stats.snapshot().authFailures).toBeLessThanOrEqual(4 + 1);
    expect(s.logs.some((l) => l.includes('"level":"error"') && /HES_USERNAME|credential/i.test(l))).toBe(
      true,
    );
  }, 60_000);
});

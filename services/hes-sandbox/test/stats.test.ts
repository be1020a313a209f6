import { afterEach, describe, expect, it } from 'vitest';
import { generateSandboxCodes } from '../src/dataset.js';
import { mulberry32 } from '../src/random.js';
import { LIVE_PREFIX, TEST_PREFIX } from '../src/routes/ministry.js';
import { BULK_SIZES_KEPT, SandboxStats } from '../src/stats.js';
import { manualClock, type RunningSandbox, startSandbox } from './helpers.js';

let sandbox: RunningSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

const items = (codes: string[]) => codes.map((hes_code) => ({ hes_code }));

/** Most times within any window of `ms`, the slow obvious way. */
function bruteForceMax(times: number[], ms: number): number {
  let best = 0;
  for (const start of times) best = Math.max(best, times.filter((t) => t >= start && t - start < ms).length);
  return best;
}

describe('counters over HTTP', () => {
  it('counts requests per endpoint (both prefixes together), per status, auth failures, codes by outcome', async () => {
    const wall = new Date('2026-01-02T03:04:05.000Z');
    sandbox = await startSandbox({ wallClock: () => wall });
    const empty = await sandbox.stats();
    expect(empty.totalRequests).toBe(0);
    expect(empty.firstRequestAt).toBeNull();
    expect(empty.lastRequestAt).toBeNull();

    const [riskless] = generateSandboxCodes('RISKLESS', 1, 1);
    const [risky] = generateSandboxCodes('RISKY', 1, 2);
    const [missing] = generateSandboxCodes('NOT_FOUND', 1, 3);
    const [expired] = generateSandboxCodes('EXPIRED', 1, 4);

    expect(
      (await sandbox.call('check-hes-code', { hes_code: riskless }, { prefix: LIVE_PREFIX })).status,
    ).toBe(200);
    expect((await sandbox.call('check-hes-code', { hes_code: risky }, { prefix: TEST_PREFIX })).status).toBe(
      200,
    );
    expect((await sandbox.call('check-hes-code-plus', { hes_code: missing })).status).toBe(400);
    expect((await sandbox.call('check-employee-hes-code', { hes_code: expired })).status).toBe(400);
    expect((await sandbox.call('check-employee-hes-code', { hes_code: 'bad' })).status).toBe(400);
    expect((await sandbox.call('check-visitor-hes-code', { hes_code: riskless })).status).toBe(400); // no visit
    expect((await sandbox.call('check-hes-codes', { hes_code: riskless }, { auth: null })).status).toBe(401);
    expect(
      (await sandbox.call('check-hes-codes-plus', items([riskless!, risky!, missing!, expired!, 'x'])))
        .status,
    ).toBe(200);
    expect((await sandbox.call('nope', {})).status).toBe(404);
    await sandbox.admin('GET', 'faults'); // admin calls are not counted

    const stats = await sandbox.stats();
    expect(stats.totalRequests).toBe(9);
    expect(stats.acceptedRequests).toBe(7);
    expect(stats.byEndpoint).toEqual({
      'check-hes-code': 2,
      'check-employee-hes-code': 2,
      'check-visitor-hes-code': 1,
      'check-hes-code-plus': 1,
      'check-hes-codes': 1,
      'check-hes-codes-plus': 1,
    });
    expect(stats.byStatus).toEqual({ 200: 3, 400: 4, 401: 1, 404: 1 });
    expect(stats.authFailures).toBe(1);
    expect(stats.rateLimited).toBe(0);
    expect(stats.serverErrors).toBe(0);
    expect(stats.resets).toBe(0);
    expect(stats.codesByOutcome).toEqual({ RISKLESS: 2, RISKY: 2, NOT_FOUND: 2, EXPIRED: 2, INVALID: 2 });
    expect(stats.firstRequestAt).toBe(wall.toISOString());
    expect(stats.lastRequestAt).toBe(wall.toISOString());
  });

  it('records codes per bulk call: count, sum, max and the sizes (over-limit calls included)', async () => {
    sandbox = await startSandbox();
    const codes = generateSandboxCodes('RISKLESS', 501, 9);
    for (const size of [3, 500, 0, 501, 120]) {
      const endpoint = size % 2 ? 'check-hes-codes' : 'check-hes-codes-plus';
      const answer = await sandbox.call(endpoint, items(codes.slice(0, size)));
      expect(answer.status).toBe(size > 500 ? 400 : 200);
    }
    const stats = await sandbox.stats();
    expect(stats.bulk).toEqual({ calls: 5, codes: 1124, maxCodes: 501, sizes: [3, 500, 0, 501, 120] });
    // Only the codes actually checked count by outcome (the 501-code call was rejected whole).
    expect(stats.codesByOutcome.RISKLESS).toBe(623);
  });

  it('counts 429s, 5xxs and resets', async () => {
    const clock = manualClock();
    sandbox = await startSandbox({ now: clock.now, faults: { rateLimitRps: 2, errorRate: 1 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await sandbox.call('check-hes-code', { hes_code: 'A000000000' })).status);
    expect(statuses.filter((s) => s >= 502)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    await sandbox.admin('PUT', 'faults', { errorRate: 0, resetRate: 1, rateLimitRps: 0 });
    await expect(sandbox.call('check-hes-code', { hes_code: 'A000000000' })).rejects.toThrow();
    const stats = await sandbox.stats();
    expect(stats.rateLimited).toBe(2);
    expect(stats.serverErrors).toBe(2);
    expect(stats.resets).toBe(1);
    expect(stats.totalRequests).toBe(5);
    expect(stats.acceptedRequests).toBe(3);
  });

  it('resets every counter on POST /__sandbox/stats/reset', async () => {
    sandbox = await startSandbox();
    await sandbox.call('check-hes-codes', items(['A000000000']));
    expect((await sandbox.stats()).totalRequests).toBe(1);
    const reset = await sandbox.admin('POST', 'stats/reset');
    expect(reset.status).toBe(204);
    const stats = await sandbox.stats(1000);
    expect(stats.totalRequests).toBe(0);
    expect(stats.bulk).toEqual({ calls: 0, codes: 0, maxCodes: 0, sizes: [] });
    expect(stats.peakRps).toBe(0);
    expect(stats.maxInWindow).toEqual({ windowMs: 1000, all: 0, accepted: 0 });
    expect(stats.firstRequestAt).toBeNull();
  });
});

describe('peak requests per second', () => {
  it('is exact over any sliding 1000 ms window of accepted arrivals; rejected ones count only in the all-arrivals figures', async () => {
    const clock = manualClock(0);
    sandbox = await startSandbox({ now: clock.now });
    const accepted = [0, 300, 600, 900, 999, 1000, 1200, 1500, 2600];
    for (const t of accepted) {
      clock.set(t);
      expect((await sandbox.call('check-hes-code', { hes_code: 'A000000000' })).status).toBe(200);
    }
    // A burst of unauthorised calls at t = 2600: arrivals, but not accepted.
    for (let i = 0; i < 10; i++) {
      expect((await sandbox.call('check-hes-code', { hes_code: 'A000000000' }, { auth: null })).status).toBe(
        401,
      );
    }
    const stats = await sandbox.stats(300);
    // 300..1200 lie within 1000 ms of each other; 0 and 1000 do not (the window is half-open).
    expect(stats.peakRps).toBe(6);
    expect(stats.peakRps).toBe(bruteForceMax(accepted, 1000));
    expect(stats.peakRpsAllArrivals).toBe(11);
    expect(stats.maxInWindow).toEqual({ windowMs: 300, all: 11, accepted: 3 });
    expect((await sandbox.stats(1)).maxInWindow).toEqual({ windowMs: 1, all: 11, accepted: 1 });
    expect((await sandbox.stats(10_000)).maxInWindow).toEqual({ windowMs: 10_000, all: 19, accepted: 9 });
  });

  it('rejects a bad windowMs', async () => {
    sandbox = await startSandbox();
    expect((await sandbox.admin('GET', 'stats?windowMs=0')).status).toBe(400);
    expect((await sandbox.admin('GET', 'stats?windowMs=abc')).status).toBe(400);
  });

  it('matches a brute-force count on random arrival patterns', () => {
    const random = mulberry32(123);
    for (let round = 0; round < 20; round++) {
      const stats = new SandboxStats();
      const times: number[] = [];
      let t = 0;
      for (let i = 0; i < 300; i++) {
        t += random() < 0.3 ? 0 : random() * 40;
        times.push(t);
        stats.recordArrival(t);
        if (random() < 0.7) stats.recordAccepted(t);
      }
      expect(stats.snapshot().peakRpsAllArrivals).toBe(bruteForceMax(times, 1000));
      expect(stats.maxInWindow(1000, 'all')).toBe(bruteForceMax(times, 1000));
      expect(stats.maxInWindow(137, 'all')).toBe(bruteForceMax(times, 137));
      expect(stats.maxInWindow(1000, 'accepted')).toBe(stats.snapshot().peakRps);
    }
  });
});

describe('tightest span of n + 1 consecutive arrivals', () => {
  it('is the shortest time covering n + 1 arrivals, null until n + 1 arrived', () => {
    const stats = new SandboxStats();
    const times = [0, 400, 1100, 1300, 1450, 2600];
    for (const [i, t] of times.entries()) {
      stats.recordArrival(t);
      if (i % 2 === 0) stats.recordAccepted(t);
    }
    // Spans of three arrivals: 1100, 900, 350, 1300 → 350 (1100..1450).
    expect(stats.tightestSpan(2)).toBe(350);
    expect(stats.tightestSpan(1)).toBe(150);
    expect(stats.tightestSpan(5)).toBe(2600);
    expect(stats.tightestSpan(6)).toBeNull();
    // Accepted: 0, 1100, 1450.
    expect(stats.tightestSpan(1, 'accepted')).toBe(350);
    expect(stats.tightestSpan(3, 'accepted')).toBeNull();
    // A span under 1000 ms for n + 1 arrivals is exactly a peak above n.
    expect(stats.tightestSpan(2)! < 1000).toBe(stats.maxInWindow(1000) > 2);
    expect(stats.arrivalTimes()).toEqual(times);
    expect(stats.arrivalTimes('accepted')).toEqual([0, 1100, 1450]);
  });
});

describe('SandboxStats bounds', () => {
  it(`keeps the last ${BULK_SIZES_KEPT} bulk sizes while sum and max cover all calls`, () => {
    const stats = new SandboxStats();
    const total = BULK_SIZES_KEPT + 2_345;
    for (let i = 0; i < total; i++) stats.recordBulkSize(i % 500);
    const { bulk } = stats.snapshot();
    expect(bulk.calls).toBe(total);
    expect(bulk.maxCodes).toBe(499);
    expect(bulk.sizes).toHaveLength(BULK_SIZES_KEPT);
    expect(bulk.sizes.at(-1)).toBe((total - 1) % 500);
    expect(bulk.sizes[0]).toBe((total - BULK_SIZES_KEPT) % 500);
  });

  it('looks back over the configured arrival history for maxInWindow, while peakRps stays exact', () => {
    const stats = new SandboxStats({ arrivalHistory: 5 });
    for (const t of [0, 1, 2, 3, 4, 5, 6, 2000, 3000, 4000]) {
      stats.recordArrival(t);
      stats.recordAccepted(t);
    }
    expect(stats.snapshot().peakRps).toBe(7);
    // Only 5, 6, 2000, 3000 and 4000 are kept.
    expect(stats.maxInWindow(1000, 'accepted')).toBe(2);
  });
});

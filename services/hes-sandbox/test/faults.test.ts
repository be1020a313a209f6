import { afterEach, describe, expect, it } from 'vitest';
import { generateSandboxCodes, sandboxResultFor } from '../src/dataset.js';
import { FAULTS_OFF, FaultInjector } from '../src/faults.js';
import { manualClock, type RunningSandbox, startSandbox, waitFor } from './helpers.js';

const [CODE] = generateSandboxCodes('RISKLESS', 1, 77) as [string];
const BULK = generateSandboxCodes('RISKY', 20, 78).map((hes_code) => ({ hes_code }));

let sandbox: RunningSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

describe('defaults', () => {
  it('has every fault off, so answers are deterministic', async () => {
    sandbox = await startSandbox();
    expect((await sandbox.admin('GET', 'faults')).json()).toEqual(FAULTS_OFF);
    for (let i = 0; i < 50; i++) {
      const answer = await sandbox.call('check-hes-code', { hes_code: CODE });
      expect(answer.status).toBe(200);
      expect(answer.json()).toEqual(sandboxResultFor(CODE));
    }
  });
});

describe('latency', () => {
  it('adds at least latencyMs to single and bulk calls', async () => {
    sandbox = await startSandbox({ faults: { latencyMs: 120 } });
    const [single, singleMs] = await timed(() => sandbox!.call('check-hes-code', { hes_code: CODE }));
    expect(single.status).toBe(200);
    expect(singleMs).toBeGreaterThanOrEqual(118);
    const [bulk, bulkMs] = await timed(() => sandbox!.call('check-hes-codes', BULK));
    expect(bulk.status).toBe(200);
    expect(bulkMs).toBeGreaterThanOrEqual(118);
  });

  it('keeps jittered latency at or above latencyMs - jitter', async () => {
    sandbox = await startSandbox({ faults: { latencyMs: 100, latencyJitterMs: 40, seed: 3 } });
    for (let i = 0; i < 5; i++) {
      const [answer, ms] = await timed(() => sandbox!.call('check-hes-code', { hes_code: CODE }));
      expect(answer.status).toBe(200);
      expect(ms).toBeGreaterThanOrEqual(58);
    }
  });

  it('draws jitter uniformly within ± jitter around the mean', () => {
    const faults = new FaultInjector({ latencyMs: 100, latencyJitterMs: 50, seed: 9 });
    const delays = Array.from({ length: 2000 }, () => faults.decide().delayMs);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...delays)).toBeLessThanOrEqual(150);
    expect(Math.min(...delays)).toBeLessThan(55);
    expect(Math.max(...delays)).toBeGreaterThan(145);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(Math.abs(mean - 100)).toBeLessThan(5);
  });
});

describe('error rate', () => {
  it('at 1 answers every call with an HTML 502/503/504 page', async () => {
    sandbox = await startSandbox({ faults: { errorRate: 1, seed: 42 } });
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const answer = await sandbox.call(
        i % 2 ? 'check-hes-codes' : 'check-hes-code',
        i % 2 ? BULK : { hes_code: CODE },
      );
      expect([502, 503, 504]).toContain(answer.status);
      expect(answer.headers['content-type']).toMatch(/^text\/html/);
      expect(answer.text).toMatch(/^<html>/);
      expect(answer.text).toContain(String(answer.status));
      statuses.add(answer.status);
    }
    expect(statuses).toEqual(new Set([502, 503, 504]));
    const stats = await sandbox.stats();
    expect(stats.serverErrors).toBe(30);
  });

  it('at 0.3 fails roughly that share of calls, reproducibly for a seed', async () => {
    const run = async (): Promise<number[]> => {
      const s = await startSandbox({ faults: { errorRate: 0.3, seed: 7 } });
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++)
        statuses.push((await s.call('check-hes-code', { hes_code: CODE })).status);
      await s.close();
      return statuses;
    };
    const first = await run();
    const failed = first.filter((s) => s >= 500).length;
    expect(failed).toBeGreaterThan(30);
    expect(failed).toBeLessThan(90);
    expect(first.filter((s) => s !== 200 && s < 500)).toEqual([]);
    expect(await run()).toEqual(first);
  });
});

describe('rate limit (sliding 1-second window)', () => {
  it('throttles with 429 and Retry-After, frees a slot exactly 1000 ms after an accepted arrival, ignores rejected requests', async () => {
    const clock = manualClock(5_000);
    sandbox = await startSandbox({ faults: { rateLimitRps: 3 }, now: clock.now });
    const call = () => sandbox!.call('check-hes-code', { hes_code: CODE });

    expect((await call()).status).toBe(200); // t = 5000
    clock.advance(100);
    expect((await call()).status).toBe(200); // t = 5100
    expect((await call()).status).toBe(200); // t = 5100
    const throttled = await call();
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');
    expect(throttled.headers['content-type']).toMatch(/^application\/json/);
    expect(throttled.json()).toMatchObject({ status: 429, title: 'Too Many Requests' });

    // Hammering while throttled must not extend the window: rejected requests do not count.
    clock.advance(800); // t = 5900
    for (let i = 0; i < 5; i++) expect((await call()).status).toBe(429);
    clock.advance(99); // t = 5999: the first arrival is still inside the window
    expect((await call()).status).toBe(429);
    clock.advance(1); // t = 6000: it left the window, one slot is free
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(429);
    clock.advance(100); // t = 6100: both arrivals of t = 5100 left
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(429);

    const stats = await sandbox.stats();
    expect(stats.rateLimited).toBe(9);
    expect(stats.acceptedRequests).toBe(6);
    expect(stats.peakRps).toBe(3);
    expect(stats.byStatus['429']).toBe(9);
  });

  it('gives an integer Retry-After of at least 1 on a real clock, and bulk calls count like any call', async () => {
    sandbox = await startSandbox({ faults: { rateLimitRps: 1 } });
    const first = await sandbox.call('check-hes-codes', BULK);
    const second = await sandbox.call('check-hes-codes', BULK);
    expect(first.status).toBe(200);
    // Two local calls can take a second only on a badly stalled machine; then both are accepted.
    if (second.status === 429) {
      const retryAfter = Number(second.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
    } else {
      expect(second.status).toBe(200);
    }
    const stats = await sandbox.stats();
    expect(stats.peakRps).toBe(1);
  });

  it('checks credentials before the rate limit: 401s neither consume nor get 429', async () => {
    const clock = manualClock();
    sandbox = await startSandbox({ faults: { rateLimitRps: 1 }, now: clock.now });
    for (let i = 0; i < 3; i++)
      expect((await sandbox.call('check-hes-code', { hes_code: CODE }, { auth: null })).status).toBe(401);
    expect((await sandbox.call('check-hes-code', { hes_code: CODE })).status).toBe(200);
    expect((await sandbox.call('check-hes-code', { hes_code: CODE }, { auth: null })).status).toBe(401);
  });
});

describe('connection resets', () => {
  it('at 1 destroys the socket without an answer', async () => {
    sandbox = await startSandbox({ faults: { resetRate: 1 } });
    for (const [endpoint, body] of [
      ['check-hes-code', { hes_code: CODE }],
      ['check-hes-codes-plus', BULK],
    ] as const) {
      const error = await sandbox.call(endpoint, body).then(
        () => null,
        (e: unknown) => e as { code?: string },
      );
      expect(error).not.toBeNull();
      expect(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']).toContain(error!.code);
    }
    const stats = await sandbox.stats();
    expect(stats.resets).toBe(2);
    expect(stats.acceptedRequests).toBe(2);
  });
});

describe('slow responses', () => {
  it('delays a response by slowMs, enough to trip a client timeout', async () => {
    sandbox = await startSandbox({ faults: { slowRate: 1, slowMs: 3_000 } });
    // undici's timers are coarse (about a second), hence a slow response well above the timeout.
    const timedOut = await sandbox.call('check-hes-code', { hes_code: CODE }, { headersTimeout: 300 }).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(timedOut?.code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect((await sandbox.admin('PUT', 'faults', { slowMs: 300 })).status).toBe(200);
    const [answer, ms] = await timed(() => sandbox!.call('check-hes-code', { hes_code: CODE }));
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual(sandboxResultFor(CODE));
    expect(ms).toBeGreaterThanOrEqual(298);
  });

  it('slows about slowRate of the calls', () => {
    const faults = new FaultInjector({ slowRate: 0.25, slowMs: 1000, seed: 5 });
    const slow = Array.from({ length: 4000 }, () => faults.decide()).filter(
      (d) => d.slow && d.delayMs === 1000,
    ).length;
    expect(slow / 4000).toBeGreaterThan(0.2);
    expect(slow / 4000).toBeLessThan(0.3);
  });

  it('does not hold up close(): pending delays are cut short', async () => {
    const s = await startSandbox({ faults: { latencyMs: 60_000 } });
    const pending = s.call('check-hes-code', { hes_code: CODE }).then(
      (a) => a.status,
      () => 'error',
    );
    // Wait until the request is inside the delay (it has been counted as accepted).
    await waitFor(() => s.app.sandbox.stats.snapshot().acceptedRequests === 1);
    const [, ms] = await timed(() => s.close());
    expect(await pending).toBe(200);
    expect(ms).toBeLessThan(30_000);
  });
});

describe('seeded fault PRNG', () => {
  it('replays the same decisions for the same seed and differs for another', () => {
    const config = { errorRate: 0.5, resetRate: 0.2, slowRate: 0.3, latencyMs: 50, latencyJitterMs: 50 };
    const draw = (seed: number) => {
      const f = new FaultInjector({ ...config, seed });
      return Array.from({ length: 100 }, () => f.decide());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('rejects an invalid configuration', () => {
    expect(() => new FaultInjector({ errorRate: 1.5 })).toThrow();
    const f = new FaultInjector();
    expect(() => f.update({ latencyMs: -1 })).toThrow();
    expect(() => f.update({ nonsense: 1 })).toThrow();
    expect(f.config).toEqual(FAULTS_OFF);
  });
});

describe('admin: /__sandbox/faults', () => {
  it('updates partially at runtime, validates, and restores the start-up faults', async () => {
    sandbox = await startSandbox({ faults: { latencyMs: 5 } });
    const get = async () => (await sandbox!.admin('GET', 'faults')).json();
    expect(await get()).toEqual({ ...FAULTS_OFF, latencyMs: 5 });

    const put = await sandbox.admin('PUT', 'faults', { errorRate: 1, seed: 1 });
    expect(put.status).toBe(200);
    expect(put.json()).toEqual({ ...FAULTS_OFF, latencyMs: 5, errorRate: 1, seed: 1 });
    expect((await sandbox.call('check-hes-code', { hes_code: CODE })).status).toBeGreaterThanOrEqual(502);

    for (const bad of [
      { errorRate: 2 },
      { rateLimitRps: 1.5 },
      { latencyMs: 'slow' },
      { unknown: true },
      [1],
    ]) {
      const answer = await sandbox.admin('PUT', 'faults', bad);
      expect(answer.status, JSON.stringify(bad)).toBe(400);
      expect(answer.json()).toMatchObject({ status: 400, title: 'Bad Request' });
    }
    const malformed = await sandbox.admin('PUT', 'faults');
    expect(malformed.status).toBe(200); // no body: an empty patch
    expect(await get()).toEqual({ ...FAULTS_OFF, latencyMs: 5, errorRate: 1, seed: 1 });

    const restored = await sandbox.admin('DELETE', 'faults');
    expect(restored.json()).toEqual({ ...FAULTS_OFF, latencyMs: 5 });
    expect((await sandbox.call('check-hes-code', { hes_code: CODE })).status).toBe(200);
  });

  it('turns the rate limit on at runtime, starting from an empty window', async () => {
    const clock = manualClock();
    sandbox = await startSandbox({ now: clock.now });
    for (let i = 0; i < 5; i++)
      expect((await sandbox.call('check-hes-code', { hes_code: CODE })).status).toBe(200);
    expect((await sandbox.admin('PUT', 'faults', { rateLimitRps: 2 })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await sandbox.call('check-hes-code', { hes_code: CODE })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });
});

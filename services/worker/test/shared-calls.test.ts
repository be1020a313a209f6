import { waitFor } from '@hes/core/testing';
import { generateSandboxCodes } from '@hes/sandbox';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';
import { expectFourOutcomes, fourOutcomeCodes, matchFirstMissSecond } from './outcomes.js';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start('worker-shared-calls');
});
afterEach(async () => {
  for (const rt of [...h.runtimes]) await rt.close();
});
afterAll(async () => {
  await h?.close();
});

const allFinal = (ids: readonly string[]) =>
  waitFor(async () => (await h.countPending(ids)) === 0, {
    timeoutMs: 20_000,
    message: 'checks to become final',
  });

const upstreamRequests = () => {
  const s = h.stats();
  return Object.values(s.byEndpoint).reduce((a, b) => a + b, 0);
};

describe('single checks share a bulk call when they want the Ministry at the same time', () => {
  it('a crowd of standard and plus singles costs one request per slot, each check its own answer', async () => {
    // One request a second: while the first shared call waits for its slot, the others join it.
    await h.startWorker({ HES_RATE_LIMIT_RPS: '1', WORKER_CONCURRENCY: '32' });
    const warmUp = await h.insertAndEnqueue({
      kind: 'employee',
      codes: generateSandboxCodes('RISKLESS', 1, 81),
    });
    await allFinal(warmUp.ids);
    h.sandbox.sandbox.stats.reset();

    const four = fourOutcomeCodes(82);
    const more = generateSandboxCodes('RISKLESS', 8, 86);
    // The same code at two doors: asked once, answered to both.
    const standard = await h.insertAndEnqueue({
      kind: 'standard',
      codes: [...four, ...more, four[0]],
      identityLast3: matchFirstMissSecond,
    });
    const plusCodes = generateSandboxCodes('RISKLESS', 3, 87, { profile: 'VACCINATED' });
    const plus = await h.insertAndEnqueue({ kind: 'plus', codes: plusCodes });
    await allFinal([...standard.ids, ...plus.ids]);

    const stats = h.stats();
    const checks = standard.ids.length + plus.ids.length;
    // 16 checks; one slot a second. Unshared, that is 16 requests and 16 s; shared, one per kind when
    // every job is taken within the first second (more when a loaded CI box takes them later).
    expect(upstreamRequests()).toBeLessThanOrEqual(8);
    expect(stats.byEndpoint['check-hes-codes']).toBeGreaterThanOrEqual(1);
    expect(
      stats.byEndpoint['check-hes-codes-plus'] + stats.byEndpoint['check-hes-code-plus'],
    ).toBeGreaterThanOrEqual(1);
    expect(upstreamRequests()).toBeLessThan(checks);
    // Each distinct code went upstream, none twice unless the crowd needed two calls.
    expect(
      stats.byEndpoint['check-hes-code'] + stats.byEndpoint['check-hes-code-plus'] + stats.bulk.codes,
    ).toBeLessThanOrEqual(checks);

    const rows = new Map((await h.checks([...standard.ids, ...plus.ids])).map((r) => [r.id, r]));
    const row = (id: string) => rows.get(id)!;
    expectFourOutcomes(standard.ids.slice(0, 4).map(row), four[0]);
    const twin = row(standard.ids.at(-1)!);
    expect(twin).toMatchObject({ status: 'completed', outcome: 'RISKLESS', identityMatch: null });
    expect(twin.maskedIdentityNumber).toBe(row(standard.ids[0]!).maskedIdentityNumber);
    for (const id of standard.ids.slice(4, -1))
      expect(row(id)).toMatchObject({ status: 'completed', outcome: 'RISKLESS' });
    for (const id of plus.ids) {
      expect(row(id)).toMatchObject({ status: 'completed', outcome: 'RISKLESS' });
      expect((row(id).plus as Record<string, unknown>).vaccinated).toBe(true);
    }
    for (const r of rows.values()) expect(r.codeCipher).toBeNull();
  });

  it('a check missing from the shared answer is retried by its own job; the others are done', async () => {
    // The retry goes alone, to the single endpoint.
    const { api, dropped, close } = h.droppingFirstBulkCode();
    await h.startWorker({ HES_RATE_LIMIT_RPS: '1', WORKER_CONCURRENCY: '16' }, { api });
    const warmUp = await h.insertAndEnqueue({
      kind: 'employee',
      codes: generateSandboxCodes('RISKLESS', 1, 88),
    });
    await allFinal(warmUp.ids);
    const singles = await h.insertAndEnqueue(
      { kind: 'standard', codes: generateSandboxCodes('RISKY', 6, 89) },
      { backoffBaseMs: 50 },
    );
    await allFinal(singles.ids);
    await close();

    expect(dropped()).not.toBeNull();
    const rows = await h.checks(singles.ids);
    expect(rows.every((r) => r.status === 'completed' && r.outcome === 'RISKY')).toBe(true);
    const retried = rows.filter((r) => r.attempts === 2);
    expect(retried).toHaveLength(1);
    expect(singles.codeOf.get(retried[0]!.id)).toBe(dropped());
  });
});

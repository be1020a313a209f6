/**
 * The Ministry client against the running sandbox over real HTTP: the two were written from SPEC §3
 * independently, so agreement here is evidence that both follow it.
 */
import {
  HES_BASE_URLS,
  HesBusinessError,
  HesClient,
  HesCredentialsError,
  HesServerError,
  HesThrottledError,
  isHesError,
} from '@hes/client';
import {
  buildSandboxApp,
  generateSandboxCodes,
  type SandboxApp,
  sandboxExpirationFor,
  sandboxIdentityLast3,
  sandboxPlusProfileFor,
} from '@hes/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const USER = 'client-test-user';
const PASS = 'client-test-pass';

let sandbox: SandboxApp;
let origin: string;
let client: HesClient;

beforeAll(async () => {
  sandbox = buildSandboxApp({ username: USER, password: PASS });
  await sandbox.listen({ port: 0, host: '127.0.0.1' });
  const address = sandbox.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  origin = `http://127.0.0.1:${address.port}`;
  client = new HesClient({
    baseUrl: `${origin}/services/g2g/test/saglik/hes`,
    username: USER,
    password: PASS,
  });
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
});

beforeEach(() => {
  sandbox.sandbox.stats.reset();
  sandbox.sandbox.faults.update({ errorRate: 0, rateLimitRps: 0 });
});

const pathOf = (url: string) => new URL(url).pathname;

describe('hes-client ↔ sandbox', () => {
  it('reads a riskless and a risky code with the person and expiry the dataset promises', async () => {
    const [riskless] = generateSandboxCodes('RISKLESS', 1, 11);
    const [risky] = generateSandboxCodes('RISKY', 1, 12);
    const a = await client.checkHesCode(riskless!);
    const b = await client.checkEmployeeHesCode(risky!);
    expect(a.healthStatus).toBe('RISKLESS');
    expect(b.healthStatus).toBe('RISKY');
    expect(a.maskedIdentityNumber).toBe(`********${sandboxIdentityLast3(riskless!)}`);
    // The sandbox sends hour-only, zone-less and ISO forms; all must land on the same UTC instant
    // (hour precision is all the truncated form carries).
    const expected = sandboxExpirationFor(riskless!);
    expect(a.expiresAt).toBeInstanceOf(Date);
    expect(Math.abs(a.expiresAt!.getTime() - expected.getTime())).toBeLessThan(3_600_000);
    expect(a.maskedFirstName).toMatch(/^[A-ZÇĞİÖŞÜ]{1,2}\*+$/);
    expect(a.maskedFirstName).toBe(a.maskedFirstName!.trim());
  });

  it('maps not-found and expired codes to business errors on single calls', async () => {
    const [missing] = generateSandboxCodes('NOT_FOUND', 1, 13);
    const [expired] = generateSandboxCodes('EXPIRED', 1, 14);
    await expect(client.checkHesCode(missing!)).rejects.toMatchObject({
      code: 'HES_ERR_BUSINESS',
      reason: 'NOT_FOUND',
    });
    const err = await client.checkHesCodePlus(expired!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HesBusinessError);
    expect((err as HesBusinessError).reason).toBe('EXPIRED');
  });

  it('sends visitor checks with the location and gets plus data as real booleans', async () => {
    const [code] = generateSandboxCodes('RISKLESS', 1, 15, { profile: 'VACCINATED' });
    const visit = await client.checkVisitorHesCode(code!, {
      city: 'Ankara',
      district: 'Çankaya',
      address: 'Bilkent',
      latitude: 39.87,
      longitude: 32.75,
    });
    expect(visit.healthStatus).toBe('RISKLESS');
    const plus = await client.checkHesCodePlus(code!);
    expect(sandboxPlusProfileFor(code!)).toBe('VACCINATED');
    expect(plus.plus.vaccinated).toBe(true);
    expect(plus.plus.immune).toBe(true);
    const [unvaccinated] = generateSandboxCodes('RISKLESS', 1, 16, { profile: 'UNVACCINATED' });
    const other = await client.checkHesCodePlus(unvaccinated!);
    expect(other.plus.vaccinated).toBe(false);
    expect(sandbox.sandbox.stats.snapshot().byEndpoint).toMatchObject({
      'check-visitor-hes-code': 1,
      'check-hes-code-plus': 2,
    });
  });

  it('splits 1 234 codes into three bulk calls and merges one entry per code', async () => {
    const codes = [
      ...generateSandboxCodes('RISKLESS', 1000, 21),
      ...generateSandboxCodes('RISKY', 100, 22),
      ...generateSandboxCodes('NOT_FOUND', 84, 23),
      ...generateSandboxCodes('EXPIRED', 50, 24),
    ];
    const entries = await client.checkManyHesCodes(codes);
    expect(entries).toHaveLength(1234);
    expect(entries.map((e) => e.code)).toEqual(codes);
    const ok = entries.filter((e) => e.ok);
    expect(ok).toHaveLength(1100);
    const reasons = entries.flatMap((e) => (e.ok ? [] : [e.reason]));
    expect(reasons.filter((r) => r === 'NOT_FOUND')).toHaveLength(84);
    expect(reasons.filter((r) => r === 'EXPIRED')).toHaveLength(50);
    const stats = sandbox.sandbox.stats.snapshot();
    expect(stats.bulk.calls).toBe(3);
    expect(stats.bulk.sizes).toEqual([500, 500, 234]);
  });

  it('classifies wrong credentials, 5xx and 429 from the sandbox', async () => {
    const wrong = new HesClient({
      baseUrl: `${origin}/services/g2g/saglik/hes/`,
      username: USER,
      password: 'nope',
    });
    const [code] = generateSandboxCodes('RISKLESS', 1, 31);
    await expect(wrong.checkHesCode(code!)).rejects.toBeInstanceOf(HesCredentialsError);
    await wrong.close();

    sandbox.sandbox.faults.update({ errorRate: 1 });
    const server = await client.checkHesCode(code!).catch((e: unknown) => e);
    expect(server).toBeInstanceOf(HesServerError);
    expect(isHesError(server) && server.category).toBe('transient');
    expect((server as HesServerError).bodyExcerpt ?? '').not.toContain(code!);
    sandbox.sandbox.faults.update({ errorRate: 0, rateLimitRps: 1 });

    const results = await Promise.allSettled([client.checkHesCode(code!), client.checkHesCode(code!)]);
    const throttled = results.find((r) => r.status === 'rejected');
    expect(throttled).toBeDefined();
    const reason = (throttled as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(HesThrottledError);
    expect((reason as HesThrottledError).retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('knows the live and test paths the sandbox serves', () => {
    expect(pathOf(HES_BASE_URLS.live)).toBe('/services/g2g/saglik/hes/');
    expect(pathOf(HES_BASE_URLS.test)).toBe('/services/g2g/test/saglik/hes/');
  });
});

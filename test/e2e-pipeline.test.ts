/**
 * End to end through the real API, real workers, real Postgres/Redis and the sandbox Ministry over HTTP:
 * every kind and outcome with `?wait=`, identity matching, rosters as JSON and CSV with their CSV export,
 * and a leak scan of the database, Redis and every log line afterwards (SPEC §4–§6).
 */
import { generateSandboxCodes, sandboxIdentityLast3 } from '@hes/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDatabase, dumpRedis, leakedCodes, type Stack, startStack, waitFor } from './support/stack.js';

let stack: Stack;
const submitted: string[] = [];

beforeAll(async () => {
  stack = await startStack('pipeline', { env: { HES_RATE_LIMIT_RPS: '100' } });
  await stack.startWorker({ WORKER_CONCURRENCY: '16' });
});

afterAll(async () => {
  await stack?.close();
});

const dashed = (c: string) => `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8)}`;

async function postCheck(body: Record<string, unknown>, wait = 10_000) {
  const res = await stack.api.inject({
    method: 'POST',
    url: `/v1/checks?wait=${wait}`,
    headers: stack.headers,
    payload: body,
  });
  return { status: res.statusCode, body: res.json() };
}

const visit = { city: 'Ankara', district: 'Çankaya', address: 'Üniversiteler Mh. 1' };
const OUTCOMES = ['RISKLESS', 'RISKY', 'NOT_FOUND', 'EXPIRED'] as const;
const KINDS = ['standard', 'employee', 'visitor', 'plus'] as const;

describe('single checks with ?wait=', () => {
  let seed = 100;
  for (const kind of KINDS) {
    for (const outcome of OUTCOMES) {
      it(`${kind} → ${outcome}`, async () => {
        const [code] = generateSandboxCodes(outcome, 1, seed++);
        submitted.push(code!);
        const { status, body } = await postCheck({
          hesCode: dashed(code!).toLowerCase(),
          kind,
          reference: `emp-${kind}-${outcome}`,
          ...(kind === 'visitor' ? { visit } : {}),
        });
        expect(status).toBe(200);
        expect(body).toMatchObject({
          kind,
          status: 'completed',
          outcome,
          reference: `emp-${kind}-${outcome}`,
        });
        expect(body.hesCode).toBe(`${code!.slice(0, 2)}******${code!.slice(8)}`);
        expect(body.attempts).toBe(1);
        if (outcome === 'RISKLESS' || outcome === 'RISKY') {
          expect(body.person.maskedIdentityNumber).toBe(`********${sandboxIdentityLast3(code!)}`);
          expect(body.codeExpiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          if (kind === 'plus') {
            for (const field of ['vaccinated', 'immune', 'testDataShared'] as const) {
              expect([true, false, null]).toContain(body.plus[field]);
            }
          } else {
            expect(body.plus).toBeNull();
          }
        } else {
          expect(body.person).toBeNull();
        }
      });
    }
  }

  it('answers identityMatch true, false and null', async () => {
    const [code] = generateSandboxCodes('RISKLESS', 1, 500);
    submitted.push(code!);
    const right = sandboxIdentityLast3(code!);
    const wrong = String((Number(right) + 1) % 1000).padStart(3, '0');
    const a = await postCheck({ hesCode: code, identityLast3: right });
    const b = await postCheck({ hesCode: code, identityLast3: wrong });
    const c = await postCheck({ hesCode: code });
    expect([a.body.identityMatch, b.body.identityMatch, c.body.identityMatch]).toEqual([true, false, null]);
  });
});

describe('tracing', () => {
  it('carries one request id from the API request into the stored check and the worker job log', async () => {
    const [code] = generateSandboxCodes('RISKY', 1, 550);
    submitted.push(code!);
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/checks?wait=10000',
      headers: { ...stack.headers, 'x-request-id': 'e2e-trace-42' },
      payload: { hesCode: code },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('e2e-trace-42');
    const row = await stack.db.prisma.check.findUniqueOrThrow({ where: { id: res.json().id } });
    expect(row.requestId).toBe('e2e-trace-42');
    const traced = stack.logs.map((l) => JSON.parse(l)).filter((l) => l.requestId === 'e2e-trace-42');
    expect(traced.some((l) => l.service === 'hes-api')).toBe(true);
    expect(traced.some((l) => l.service === 'hes-worker')).toBe(true);
  });
});

describe('rosters', () => {
  async function waitForBatch(id: string, timeoutMs = 60_000) {
    return waitFor(
      async () => {
        const res = await stack.api.inject({
          method: 'GET',
          url: `/v1/batches/${id}`,
          headers: stack.headers,
        });
        const batch = res.json();
        return batch.status === 'completed' ? batch : null;
      },
      { timeoutMs, intervalMs: 200, message: `batch ${id} did not complete` },
    );
  }

  it('completes a 3 000-code JSON roster in bulk calls with the right outcomes and exports it as CSV', async () => {
    const codes = [
      ...generateSandboxCodes('RISKLESS', 2400, 601),
      ...generateSandboxCodes('RISKY', 300, 602),
      ...generateSandboxCodes('NOT_FOUND', 200, 603),
      ...generateSandboxCodes('EXPIRED', 90, 604),
    ];
    submitted.push(...codes);
    const items = codes.map((c, i) => ({ hesCode: i % 2 ? dashed(c) : c, reference: `r-${i}` }));
    items.push(
      ...['SHORT', 'ÇÇÇÇÇÇÇÇÇÇ', '', '12345-678', 'A1B2C3D4!', '----------', '   ', 'X', 'AB', '0'].map(
        (hesCode, i) => ({ hesCode, reference: `bad-${i}` }),
      ),
    );
    stack.sandbox.sandbox.stats.reset();

    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: stack.headers,
      payload: { kind: 'standard', items },
    });
    expect(res.statusCode).toBe(202);
    const batch = await waitForBatch(res.json().id);
    expect(batch.total).toBe(3000);
    expect(batch.outcomes).toEqual({ RISKLESS: 2400, RISKY: 300, NOT_FOUND: 200, EXPIRED: 90, INVALID: 10 });
    expect(batch.counts).toMatchObject({ queued: 0, processing: 0, completed: 3000, failed: 0 });

    // 2 990 valid codes → exactly 6 bulk calls, no single calls.
    const stats = stack.sandbox.sandbox.stats.snapshot();
    expect(stats.bulk.calls).toBe(6);
    expect(stats.bulk.codes).toBe(2990);
    expect(stats.byEndpoint['check-hes-code']).toBe(0);

    const csv = await stack.api.inject({
      method: 'GET',
      url: `/v1/batches/${batch.id}/checks`,
      headers: { ...stack.headers, accept: 'text/csv' },
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split(/\r?\n/);
    expect(lines).toHaveLength(3001);
    expect(lines[0]).toMatch(/^id,reference,hesCode,status,outcome/);
    expect(lines.filter((l) => l.includes(',RISKY,'))).toHaveLength(300);
    expect(lines.filter((l) => l.includes(',INVALID,'))).toHaveLength(10);
  });

  it('completes a CSV roster of kind plus with identity checks', async () => {
    const codes = [...generateSandboxCodes('RISKLESS', 900, 701), ...generateSandboxCodes('RISKY', 100, 702)];
    submitted.push(...codes);
    const rows = codes.map((c, i) => {
      const last3 = i < 10 ? ('000' === sandboxIdentityLast3(c) ? '001' : '000') : sandboxIdentityLast3(c);
      return `${dashed(c)},"Personel ""${i}""",${last3}`;
    });
    const body = `\uFEFFhes_code,reference,identityLast3\r\n${rows.join('\r\n')}\r\n`;
    const res = await stack.api.inject({
      method: 'POST',
      url: '/v1/batches?kind=plus',
      headers: { ...stack.headers, 'content-type': 'text/csv' },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    const batch = await waitForBatch(res.json().id);
    expect(batch).toMatchObject({ kind: 'plus', total: 1000 });
    expect(batch.outcomes).toMatchObject({ RISKLESS: 900, RISKY: 100 });

    const mismatches = await stack.db.prisma.check.count({
      where: { batchId: batch.id, identityMatch: false },
    });
    const matches = await stack.db.prisma.check.count({ where: { batchId: batch.id, identityMatch: true } });
    expect(mismatches).toBe(10);
    expect(matches).toBe(990);
    const [withPlus] = await stack.db.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM checks WHERE batch_id = ${batch.id}::uuid AND jsonb_typeof(plus) = 'object'`;
    expect(withPlus?.n).toBe(1000);
  });
});

describe('privacy (SPEC §6)', () => {
  it('leaves no full HES code in the database, Redis or any log line once checks are final', async () => {
    expect(submitted.length).toBeGreaterThan(4000);
    const pending = await stack.db.prisma.check.count({
      where: { status: { in: ['queued', 'processing'] } },
    });
    expect(pending).toBe(0);
    const ciphers = await stack.db.prisma.check.count({ where: { NOT: { codeCipher: null } } });
    expect(ciphers).toBe(0);
    expect(leakedCodes(submitted, await dumpDatabase(stack.db))).toEqual([]);
    expect(leakedCodes(submitted, await dumpRedis(stack.redis))).toEqual([]);
    expect(stack.logs.length).toBeGreaterThan(10);
    expect(leakedCodes(submitted, stack.logs)).toEqual([]);
  });
});

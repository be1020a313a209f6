import { CodeVault, QUEUES, singleJobId } from '@hes/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, DATA_KEY, startApi, waitFor } from './helpers.js';

let h: ApiHarness;
const vault = new CodeVault(Buffer.from(DATA_KEY, 'base64'));

beforeAll(async () => {
  h = await startApi('checks', {
    HES_VISIT_CITY: 'Ankara',
    HES_VISIT_DISTRICT: 'Çankaya',
    HES_VISIT_ADDRESS: 'Atatürk Blv. 1',
  });
});
afterAll(() => h.close());

function submit(
  payload: object,
  opts: { query?: string; headers?: Record<string, string>; key?: string } = {},
) {
  return h.app.inject({
    method: 'POST',
    url: `/v1/checks${opts.query ?? ''}`,
    headers: { ...h.auth(opts.key ?? h.keys.readWrite), ...opts.headers },
    payload,
  });
}

/** Every string a row holds, flattened, to search for a leaked code. */
async function rowText(id: string): Promise<string> {
  const rows = await h.db.prisma.$queryRawUnsafe<unknown[]>(
    'SELECT to_jsonb(c)::text AS j FROM checks c WHERE id = $1::uuid',
    id,
  );
  return JSON.stringify(rows);
}

describe('POST /v1/checks', () => {
  it('stores the check encrypted before acknowledging and answers 202 with Location', async () => {
    const res = await submit(
      { hesCode: 'k4m5-n6p7-r8', reference: 'emp-1042', identityLast3: '792' },
      { headers: { 'x-request-id': 'req-checks-1' } },
    );
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(res.headers.location).toBe(`/v1/checks/${body.id}`);
    expect(res.headers['x-request-id']).toBe('req-checks-1');
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      kind: 'standard',
      hesCode: 'K4******R8',
      reference: 'emp-1042',
      batchId: null,
      status: 'queued',
      outcome: null,
      person: null,
      codeExpiresAt: null,
      identityMatch: null,
      plus: null,
      error: null,
      attempts: 0,
      createdAt: expect.any(String),
      completedAt: null,
    });

    const row = await h.db.prisma.check.findUniqueOrThrow({ where: { id: body.id } });
    expect(row.codeCipher).not.toBeNull();
    expect(vault.decrypt(row.codeCipher!, body.id)).toBe('K4M5N6P7R8');
    // The ciphertext is bound to its row: another id as AAD does not decrypt it.
    expect(() => vault.decrypt(row.codeCipher!, '00000000-0000-4000-8000-000000000000')).toThrow();
    expect(row.codeHmac).toBe(vault.hmac('K4M5N6P7R8'));
    expect(row.codeMasked).toBe('K4******R8');
    expect(row.jobId).toBe(singleJobId(body.id));
    expect(row.requestId).toBe('req-checks-1');
    expect(row.identityLast3).toBe('792');
    const text = await rowText(body.id);
    expect(text).not.toContain('K4M5N6P7R8');
    expect(text.toLowerCase()).not.toContain('k4m5-n6p7-r8');
  });

  it('enqueues one job with the check id and no code', async () => {
    const res = await submit({ hesCode: 'B2C3D4E5F6', kind: 'employee' });
    const id = res.json().id;
    const job = await h.queue.getJob(singleJobId(id));
    expect(job?.name).toBe('single');
    expect(job?.data).toEqual({ checkId: id, requestId: res.headers['x-request-id'] });
    const raw = await h.redis.connection.hgetall(`${h.redis.prefix}:${QUEUES.checks}:${singleJobId(id)}`);
    expect(Object.keys(raw).length).toBeGreaterThan(0);
    expect(JSON.stringify(raw)).not.toContain('B2C3D4E5F6');
    expect(JSON.stringify(raw)).toContain(id);
  });

  it('plus and employee kinds are stored with their kind', async () => {
    for (const kind of ['plus', 'employee'] as const) {
      const res = await submit({ hesCode: 'C3D4E5F6G7', kind });
      expect(res.statusCode).toBe(202);
      expect(res.json().kind).toBe(kind);
    }
  });

  it('visitor checks take the caller visit, or the configured default', async () => {
    const own = await submit({
      hesCode: 'D4E5F6G7H8',
      kind: 'visitor',
      visit: { city: 'İzmir', district: 'Konak', address: 'Kordon 5', latitude: 38.42, longitude: 27.13 },
    });
    expect(own.statusCode).toBe(202);
    const ownRow = await h.db.prisma.check.findUniqueOrThrow({ where: { id: own.json().id } });
    expect(ownRow.visit).toEqual({
      city: 'İzmir',
      district: 'Konak',
      address: 'Kordon 5',
      latitude: 38.42,
      longitude: 27.13,
    });

    const dflt = await submit({ hesCode: 'D4E5F6G7H8', kind: 'visitor' });
    expect(dflt.statusCode).toBe(202);
    const dfltRow = await h.db.prisma.check.findUniqueOrThrow({ where: { id: dflt.json().id } });
    expect(dfltRow.visit).toEqual({
      city: 'Ankara',
      district: 'Çankaya',
      address: 'Atatürk Blv. 1',
      latitude: null,
      longitude: null,
    });
  });

  it('a caller x-request-id that is not a sane id is replaced', async () => {
    const res = await submit(
      { hesCode: 'B2C3D4E5F6' },
      { headers: { 'x-request-id': 'bad id with spaces' } },
    );
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('GET /v1/checks/:id', () => {
  it('returns the presented check, plus only for kind plus, never the code (worker result simulated)', async () => {
    const created = (await submit({ hesCode: 'E5F6G7H8J9', kind: 'plus', identityLast3: '792' })).json();
    await h.db.prisma.check.update({
      where: { id: created.id },
      data: {
        plus: {
          vaccinated: true,
          immune: false,
          testDataShared: null,
          lastNegativeTestAt: '2021-08-09T11:51:30.597Z',
        },
        identityMatch: true,
      },
    });
    await h.completeCheck(created.id, { outcome: 'RISKY' });
    const res = await h.app.inject({
      method: 'GET',
      url: `/v1/checks/${created.id}`,
      headers: h.auth(h.keys.read),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: created.id,
      kind: 'plus',
      hesCode: 'E5******J9',
      status: 'completed',
      outcome: 'RISKY',
      person: { maskedIdentityNumber: '********792', maskedFirstName: 'DE****', maskedLastName: 'DE****' },
      codeExpiresAt: '2070-12-30T13:00:00.000Z',
      identityMatch: true,
      plus: {
        vaccinated: true,
        immune: false,
        testDataShared: null,
        lastNegativeTestAt: '2021-08-09T11:51:30.597Z',
      },
      error: null,
      attempts: 1,
      completedAt: expect.any(String),
    });
    expect(res.body).not.toContain('E5F6G7H8J9');
  });

  it('a failed check carries its error (worker result simulated)', async () => {
    const created = (await submit({ hesCode: 'F6G7H8J9K1' })).json();
    await h.completeCheck(created.id, { status: 'failed', errorCode: 'UPSTREAM_UNAVAILABLE' });
    const res = await h.app.inject({
      method: 'GET',
      url: `/v1/checks/${created.id}`,
      headers: h.auth(h.keys.read),
    });
    expect(res.json()).toMatchObject({
      status: 'failed',
      outcome: null,
      error: { code: 'UPSTREAM_UNAVAILABLE', message: 'gave up' },
    });
  });
});

describe('?wait=', () => {
  it('answers 200 with the final check when the (simulated) worker completes it in time', async () => {
    const started = Date.now();
    const pending = submit({ hesCode: 'G7H8J9K1L2', reference: 'wait-200' }, { query: '?wait=8000' });
    const row = await waitFor(() => h.db.prisma.check.findFirst({ where: { reference: 'wait-200' } }), {
      timeoutMs: 5_000,
      message: 'check was not stored',
    });
    await h.completeCheck(row.id, { outcome: 'RISKLESS' });
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: row.id, status: 'completed', outcome: 'RISKLESS' });
    expect(res.headers.location).toBe(`/v1/checks/${row.id}`);
    expect(Date.now() - started).toBeLessThan(7_000);
  });

  it('answers 202 once the deadline passes without a completion', async () => {
    const started = Date.now();
    const res = await submit({ hesCode: 'H8J9K1L2M3' }, { query: '?wait=400' });
    expect(res.statusCode).toBe(202);
    expect(res.json().status).toBe('queued');
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('a pending wait answers 202 at once when the server starts closing', async () => {
    const app = await h.buildExtra({});
    const started = Date.now();
    const pending = app.inject({
      method: 'POST',
      url: '/v1/checks?wait=10000',
      headers: h.auth(h.keys.write),
      payload: { hesCode: 'J1K2L3M4N5', reference: 'wait-close' },
    });
    await waitFor(() => h.db.prisma.check.findFirst({ where: { reference: 'wait-close' } }), {
      timeoutMs: 5_000,
      message: 'check was not stored',
    });
    await app.close();
    const res = await pending;
    expect(res.statusCode).toBe(202);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('leaves no listener behind, and a crowd of waiters is not reported as a leak', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      // 12 waiters at once: each listens on the server's closing signal until it is answered.
      const crowd = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          submit({ hesCode: `H8J9K1L2${String(i).padStart(2, '0')}` }, { query: '?wait=50' }),
        ),
      );
      expect(crowd.map((r) => r.statusCode)).toEqual(Array(12).fill(202));
      expect(h.app.checkEvents.listenerCount).toBe(0);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('Idempotency-Key', () => {
  it('the same key and body return the same check and store one row', async () => {
    const headers = { 'idempotency-key': 'idem-same' };
    const first = await submit({ hesCode: 'J9K1L2M3N4', reference: 'idem-same' }, { headers });
    const second = await submit({ reference: 'idem-same', hesCode: 'J9K1-L2M3-N4' }, { headers });
    expect(first.statusCode).toBe(202);
    expect([200, 202]).toContain(second.statusCode);
    expect(second.json().id).toBe(first.json().id);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(await h.db.prisma.check.count({ where: { reference: 'idem-same' } })).toBe(1);
    const record = await h.db.prisma.idempotencyRecord.findFirstOrThrow({ where: { key: 'idem-same' } });
    expect(record.checkId).toBe(first.json().id);
    // The fingerprint is keyed: not a plain SHA-256 that could be brute-forced back to the code.
    expect(record.requestHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the same key with a different body is 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const headers = { 'idempotency-key': 'idem-diff' };
    expect((await submit({ hesCode: 'K1L2M3N4P5', reference: 'idem-diff' }, { headers })).statusCode).toBe(
      202,
    );
    const res = await submit({ hesCode: 'K1L2M3N4P6', reference: 'idem-diff' }, { headers });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(res.body).not.toContain('K1L2M3N4P6');
    expect(await h.db.prisma.check.count({ where: { reference: 'idem-diff' } })).toBe(1);
  });

  it('keys are per API key', async () => {
    const headers = { 'idempotency-key': 'idem-per-key' };
    const a = await submit(
      { hesCode: 'L2M3N4P5Q6', reference: 'idem-per-key' },
      { headers, key: h.keys.write },
    );
    const b = await submit(
      { hesCode: 'L2M3N4P5Q6', reference: 'idem-per-key' },
      { headers, key: h.keys.admin },
    );
    expect(b.json().id).not.toBe(a.json().id);
  });

  it('concurrent duplicates create one check', async () => {
    const headers = { 'idempotency-key': 'idem-race' };
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        submit({ hesCode: 'M3N4P5Q6R7', reference: 'idem-race' }, { headers }),
      ),
    );
    for (const r of results) expect([200, 202]).toContain(r.statusCode);
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(await h.db.prisma.check.count({ where: { reference: 'idem-race' } })).toBe(1);
    expect(await h.db.prisma.idempotencyRecord.count({ where: { key: 'idem-race' } })).toBe(1);
  });

  it('a replay of a finished check (worker result simulated) with wait answers 200 at once', async () => {
    const headers = { 'idempotency-key': 'idem-final' };
    const first = (await submit({ hesCode: 'N4P5Q6R7S8' }, { headers })).json();
    await h.completeCheck(first.id);
    const again = await submit({ hesCode: 'N4P5Q6R7S8' }, { headers, query: '?wait=5000' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: first.id, status: 'completed' });
  });
});

import { bulkJobId, CodeVault, singleJobId } from '@hes/core';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, DATA_KEY, startApi } from './helpers.js';

let h: ApiHarness;
const vault = new CodeVault(Buffer.from(DATA_KEY, 'base64'));

beforeAll(async () => {
  h = await startApi('batches');
});
afterAll(() => h.close());

const code = (i: number) => `R${String(i).padStart(9, '0')}`;

function postJson(payload: unknown, query = '') {
  return h.app.inject({
    method: 'POST',
    url: `/v1/batches${query}`,
    headers: h.auth(h.keys.readWrite),
    payload: payload as object,
  });
}

function postCsv(csv: string | Buffer, query = '') {
  return h.app.inject({
    method: 'POST',
    url: `/v1/batches${query}`,
    headers: { ...h.auth(h.keys.readWrite), 'content-type': 'text/csv' },
    payload: csv,
  });
}

async function batchJobs(batchId: string) {
  const jobs = await h.queue.getJobs(['waiting', 'delayed', 'prioritized', 'paused'], 0, -1);
  return jobs.filter((j) => {
    const d = j.data as { batchId?: string; checkId?: string };
    return d.batchId === batchId || j.id?.startsWith(`bulk-${batchId}`);
  });
}

describe('POST /v1/batches (JSON)', () => {
  it('stores every item and queues bulk jobs of at most 500 for standard', async () => {
    const items = Array.from({ length: 1_203 }, (_, i) => ({ hesCode: code(i), reference: `emp-${i}` }));
    items[10] = { hesCode: 'bad', reference: 'emp-10' };
    items[500] = { hesCode: 'R0000.0500!', reference: 'emp-500' };
    items[1_202] = { hesCode: '', reference: 'emp-1202' };
    const res = await postJson({ items });
    expect(res.statusCode, res.body).toBe(202);
    const batch = res.json();
    expect(res.headers.location).toBe(`/v1/batches/${batch.id}`);
    expect(batch).toMatchObject({
      kind: 'standard',
      status: 'queued',
      total: 1_203,
      counts: { queued: 1_200, processing: 0, completed: 3, failed: 0 },
      outcomes: { RISKLESS: 0, RISKY: 0, NOT_FOUND: 0, EXPIRED: 0, INVALID: 3 },
      completedAt: null,
    });

    const rows = await h.db.prisma.check.findMany({ where: { batchId: batch.id }, orderBy: { seq: 'asc' } });
    expect(rows).toHaveLength(1_203);
    expect(rows.map((r) => r.reference)).toEqual(items.map((i) => i.reference));
    const invalid = rows.filter((r) => r.outcome === 'INVALID');
    expect(invalid.map((r) => r.reference)).toEqual(['emp-10', 'emp-500', 'emp-1202']);
    for (const r of invalid) {
      expect(r).toMatchObject({ status: 'completed', codeCipher: null, codeHmac: null, jobId: null });
      expect(r.completedAt).not.toBeNull();
    }
    expect(invalid[0]!.codeMasked).not.toContain('BAD');
    const valid = rows.filter((r) => r.outcome === null);
    expect(vault.decrypt(valid[0]!.codeCipher!, valid[0]!.id)).toBe(code(0));
    expect(valid[0]!.codeHmac).toBe(vault.hmac(code(0)));
    expect(valid.every((r) => r.requestId === res.headers['x-request-id'])).toBe(true);

    const jobs = await batchJobs(batch.id);
    expect(jobs).toHaveLength(3);
    const carried = new Map<string, string>();
    for (const job of jobs) {
      const data = job.data as { kind: string; batchId: string; checkIds: string[] };
      expect(job.name).toBe('bulk');
      expect(data.kind).toBe('standard');
      expect(data.checkIds.length).toBeLessThanOrEqual(500);
      expect(job.id).toBe(bulkJobId(batch.id, data.checkIds[0]!));
      for (const id of data.checkIds) carried.set(id, job.id!);
      expect(JSON.stringify(job.data)).not.toMatch(/R\d{9}/);
    }
    expect(carried.size).toBe(1_200);
    for (const r of valid) expect(r.jobId).toBe(carried.get(r.id));
  });

  it('employee rosters get one job per check', async () => {
    const res = await postJson({
      kind: 'employee',
      items: [0, 1, 2, 3].map((i) => ({ hesCode: code(9_000 + i) })),
    });
    expect(res.statusCode).toBe(202);
    const rows = await h.db.prisma.check.findMany({ where: { batchId: res.json().id } });
    expect(rows.every((r) => r.kind === 'employee')).toBe(true);
    for (const r of rows) {
      expect(r.jobId).toBe(singleJobId(r.id));
      const job = await h.queue.getJob(singleJobId(r.id));
      expect(job?.data).toMatchObject({ checkId: r.id });
    }
  });

  it('plus rosters use bulk plus jobs', async () => {
    const res = await postJson({ kind: 'plus', items: [{ hesCode: code(9_100) }] });
    const jobs = await batchJobs(res.json().id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data).toMatchObject({ kind: 'plus', batchId: res.json().id });
  });

  it('a roster of only malformed codes is completed at once and queues nothing', async () => {
    const res = await postJson({ items: [{ hesCode: 'x' }, { hesCode: '12' }] });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      status: 'completed',
      counts: { completed: 2 },
      outcomes: { INVALID: 2 },
    });
    expect(res.json().completedAt).not.toBeNull();
    expect(await batchJobs(res.json().id)).toHaveLength(0);
  });

  it('visitor rosters need a default visit location', async () => {
    const res = await postJson({ kind: 'visitor', items: [{ hesCode: code(1) }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VISIT_REQUIRED');

    const withDefault = await h.buildExtra({
      HES_VISIT_CITY: 'Ankara',
      HES_VISIT_DISTRICT: 'Çankaya',
      HES_VISIT_ADDRESS: 'Kızılay',
    });
    const ok = await withDefault.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: h.auth(h.keys.write),
      payload: { kind: 'visitor', items: [{ hesCode: code(2) }, { hesCode: code(3) }] },
    });
    expect(ok.statusCode).toBe(202);
    const rows = await h.db.prisma.check.findMany({ where: { batchId: ok.json().id } });
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.visit).toEqual({
        city: 'Ankara',
        district: 'Çankaya',
        address: 'Kızılay',
        latitude: null,
        longitude: null,
      });
      expect(r.jobId).toBe(singleJobId(r.id));
    }
  });

  it('an empty roster is 400 BATCH_EMPTY', async () => {
    const res = await postJson({ items: [] });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('BATCH_EMPTY');
  });

  it('item fields are validated with their path', async () => {
    const res = await postJson({ items: [{ hesCode: code(1) }, { hesCode: code(2), identityLast3: '12' }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ path: '/items/1/identityLast3', in: 'body' });
  });

  it('100 001 items are 413 BATCH_TOO_LARGE and nothing is written', async () => {
    const batchesBefore = await h.db.prisma.batch.count();
    const checksBefore = await h.db.prisma.check.count();
    const items = Array.from({ length: 100_001 }, (_, i) => ({ hesCode: code(i) }));
    const res = await postJson({ items });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'BATCH_TOO_LARGE', limit: 100_000 });
    expect(await h.db.prisma.batch.count()).toBe(batchesBefore);
    expect(await h.db.prisma.check.count()).toBe(checksBefore);
  });
});

describe('POST /v1/batches (CSV)', () => {
  it('accepts a BOM, CRLF, quoted fields, hes_code / identity_last3 headers and keeps INVALID rows', async () => {
    const csv = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(
        ' HES_CODE ,Reference,identity_last3\r\n' +
          'S100-0000-01,"Doe, John",792\r\n' +
          '"S1000000 02","ref ""quoted""",\r\n' +
          '\r\n' +
          'not-a-code,bad-row,\r\n' +
          'S100000003,,123\r\n',
      ),
    ]);
    const res = await postCsv(csv, '?kind=employee');
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({
      kind: 'employee',
      total: 4,
      counts: { queued: 3, completed: 1 },
      outcomes: { INVALID: 1 },
    });
    const rows = await h.db.prisma.check.findMany({
      where: { batchId: res.json().id },
      orderBy: { seq: 'asc' },
    });
    expect(rows.map((r) => [r.reference, r.identityLast3, r.outcome])).toEqual([
      ['Doe, John', '792', null],
      ['ref "quoted"', null, null],
      ['bad-row', null, 'INVALID'],
      [null, '123', null],
    ]);
    expect(vault.decrypt(rows[0]!.codeCipher!, rows[0]!.id)).toBe('S100000001');
    expect(vault.decrypt(rows[1]!.codeCipher!, rows[1]!.id)).toBe('S100000002');
    expect(rows.every((r) => r.kind === 'employee')).toBe(true);
  });

  it('a header-only CSV is BATCH_EMPTY, an empty body too', async () => {
    for (const csv of ['hesCode,reference\n', '']) {
      const res = await postCsv(csv);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('BATCH_EMPTY');
    }
  });

  it.each([
    ['no hesCode column', 'code,reference\nS100000001,a\n'],
    ['unknown column', 'hesCode,reference,department\nS100000001,a,b\n'],
    ['unclosed quote', 'hesCode,reference\n"S100000001,a\n'],
    ['inconsistent columns', 'hesCode,reference\nS100000001,a,extra\n'],
  ])('%s is 400 CSV_INVALID', async (_name, csv) => {
    const res = await postCsv(csv);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('CSV_INVALID');
    expect(res.body).not.toContain('S100000001');
  });

  it('a bad identityLast3 names its row', async () => {
    const res = await postCsv('hesCode,reference,identityLast3\nS100000001,a,79\n');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ path: '/items/0/identityLast3', message: expect.stringMatching(/^row 1:/) }],
    });
  });

  it('100 001 CSV rows are 413 BATCH_TOO_LARGE and nothing is written', async () => {
    const before = await h.db.prisma.check.count();
    const lines = Array.from({ length: 100_001 }, (_, i) => code(i)).join('\n');
    const res = await postCsv(`hesCode\n${lines}\n`);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'BATCH_TOO_LARGE', detail: expect.stringContaining('100001') });
    expect(await h.db.prisma.check.count()).toBe(before);
  });
});

describe('batch progress and export', () => {
  let batchId: string;
  let ids: string[];

  beforeAll(async () => {
    const items = [
      ...Array.from({ length: 6 }, (_, i) => ({
        hesCode: code(50_000 + i),
        reference: `p-${i}`,
        identityLast3: '792',
      })),
      { hesCode: '??', reference: 'p-bad' },
    ];
    const res = await postJson({ items });
    batchId = res.json().id;
    ids = (await h.db.prisma.check.findMany({ where: { batchId }, orderBy: { seq: 'asc' } })).map(
      (r) => r.id,
    );
  });

  async function progress() {
    const res = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batchId}`,
      headers: h.auth(h.keys.read),
    });
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  it('counts by status and outcome, zero-filled, and derives the batch status (worker progress simulated)', async () => {
    expect(await progress()).toMatchObject({
      id: batchId,
      status: 'queued',
      total: 7,
      counts: { queued: 6, processing: 0, completed: 1, failed: 0 },
      outcomes: { RISKLESS: 0, RISKY: 0, NOT_FOUND: 0, EXPIRED: 0, INVALID: 1 },
    });

    await h.db.prisma.check.update({ where: { id: ids[0]! }, data: { status: 'processing' } });
    await h.completeCheck(ids[1]!, { outcome: 'RISKY', maskedIdentityNumber: '********111' });
    await h.db.prisma.check.update({ where: { id: ids[1]! }, data: { identityMatch: false } });
    await h.completeCheck(ids[2]!, { outcome: 'NOT_FOUND' });
    expect(await progress()).toMatchObject({
      status: 'running',
      counts: { queued: 3, processing: 1, completed: 3, failed: 0 },
      outcomes: { RISKY: 1, NOT_FOUND: 1, INVALID: 1, RISKLESS: 0, EXPIRED: 0 },
      completedAt: null,
    });

    await h.completeCheck(ids[0]!, { outcome: 'RISKLESS' });
    await h.completeCheck(ids[3]!, { outcome: 'EXPIRED' });
    await h.completeCheck(ids[4]!, { status: 'failed' });
    await h.completeCheck(ids[5]!, { outcome: 'RISKLESS' });
    await h.db.prisma.batch.update({
      where: { id: batchId },
      data: { completedAt: new Date(), status: 'completed' },
    });
    const done = await progress();
    expect(done).toMatchObject({
      status: 'completed',
      counts: { queued: 0, processing: 0, completed: 6, failed: 1 },
      outcomes: { RISKLESS: 2, RISKY: 1, NOT_FOUND: 1, EXPIRED: 1, INVALID: 1 },
    });
    expect(done.completedAt).not.toBeNull();
  });

  it('unknown batches are 404', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      const res = await h.app.inject({
        method: 'GET',
        url: `/v1/batches/${id}`,
        headers: h.auth(h.keys.read),
      });
      expect(res.statusCode).toBe(404);
      const list = await h.app.inject({
        method: 'GET',
        url: `/v1/batches/${id}/checks`,
        headers: h.auth(h.keys.read),
      });
      expect(list.statusCode).toBe(404);
    }
  });

  it('lists the batch checks with pagination and filters', async () => {
    const first = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batchId}/checks?limit=4`,
      headers: h.auth(h.keys.read),
    });
    expect(first.statusCode).toBe(200);
    const p1 = first.json();
    expect(p1.items.map((c: { id: string }) => c.id)).toEqual(ids.slice(0, 4));
    const second = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batchId}/checks?limit=4&cursor=${p1.nextCursor}`,
      headers: h.auth(h.keys.read),
    });
    expect(second.json().items.map((c: { id: string }) => c.id)).toEqual(ids.slice(4));
    expect(second.json().nextCursor).toBeNull();
    const riskless = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batchId}/checks?outcome=RISKLESS`,
      headers: h.auth(h.keys.read),
    });
    expect(riskless.json().items.map((c: { id: string }) => c.id)).toEqual([ids[0], ids[5]]);
  });

  it('exports CSV with Accept: text/csv (worker results simulated)', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batchId}/checks`,
      headers: { ...h.auth(h.keys.read), accept: 'text/csv' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toBe(`attachment; filename="batch-${batchId}.csv"`);
    const records = parse(res.body, { columns: true }) as Record<string, string>[];
    expect(Object.keys(records[0]!)).toEqual([
      'id',
      'reference',
      'hesCode',
      'status',
      'outcome',
      'identityMatch',
      'maskedIdentityNumber',
      'maskedFirstName',
      'maskedLastName',
      'codeExpiresAt',
      'vaccinated',
      'immune',
      'testDataShared',
      'lastNegativeTestAt',
      'errorCode',
      'completedAt',
    ]);
    expect(records.map((r) => r.id)).toEqual(ids);
    expect(records[1]).toMatchObject({
      reference: 'p-1',
      hesCode: 'R0******01',
      status: 'completed',
      outcome: 'RISKY',
      identityMatch: 'false',
      maskedIdentityNumber: '********111',
      codeExpiresAt: '2070-12-30T13:00:00.000Z',
      vaccinated: '',
      errorCode: '',
    });
    expect(records[4]).toMatchObject({ status: 'failed', outcome: '', errorCode: 'UPSTREAM_UNAVAILABLE' });
    expect(records[6]).toMatchObject({ reference: 'p-bad', outcome: 'INVALID' });
    expect(res.body).not.toMatch(/R\d{9}/);
  });

  it('the CSV export streams large batches in keyset pages', async () => {
    const items = Array.from({ length: 2_345 }, (_, i) => ({
      hesCode: code(60_000 + i),
      reference: `big-${i}`,
    }));
    const batch = (await postJson({ items })).json();
    const res = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batch.id}/checks`,
      headers: { ...h.auth(h.keys.read), accept: 'text/csv' },
    });
    const records = parse(res.body, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(2_345);
    expect(records.map((r) => r.reference)).toEqual(items.map((i) => i.reference));
  });
});

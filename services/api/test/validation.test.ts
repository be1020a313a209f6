import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApi } from './helpers.js';

let h: ApiHarness;

// A small body limit keeps the 413 case cheap; rosters have their own file.
beforeAll(async () => {
  h = await startApi('validation', { API_BODY_LIMIT_BYTES: String(64 * 1024) });
});
afterAll(() => h.close());

const CODE = 'Q7W8E9R1T2';

async function post(payload: unknown, headers: Record<string, string> = {}, url = '/v1/checks') {
  return h.app.inject({
    method: 'POST',
    url,
    headers: { ...h.auth(h.keys.write), 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

function expectProblem(res: Awaited<ReturnType<typeof post>>, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^urn:hes-gateway:problem:/),
    title: expect.any(String),
  });
  expect(body.instance).toMatch(/^\//);
  expect(body.requestId).toBe(res.headers['x-request-id']);
  // The submitted code never comes back, in any form that could be the code itself.
  expect(res.body).not.toContain(CODE);
  expect(res.body).not.toContain('Q7W8-E9R1-T2');
  return body;
}

describe('POST /v1/checks validation matrix', () => {
  const cases: { name: string; payload: unknown; status: number; code: string; path?: string }[] = [
    {
      name: 'unknown kind',
      payload: { hesCode: CODE, kind: 'vip' },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/kind',
    },
    {
      name: 'hesCode not a string',
      payload: { hesCode: 1234567890 },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/hesCode',
    },
    { name: 'hesCode missing', payload: { reference: 'x' }, status: 400, code: 'VALIDATION_FAILED' },
    {
      name: 'reference not a string',
      payload: { hesCode: CODE, reference: 42 },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/reference',
    },
    {
      name: 'reference too long',
      payload: { hesCode: CODE, reference: 'r'.repeat(201) },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/reference',
    },
    {
      name: 'identityLast3 as a number',
      payload: { hesCode: CODE, identityLast3: 792 },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/identityLast3',
    },
    {
      name: 'identityLast3 of four digits',
      payload: { hesCode: CODE, identityLast3: '7921' },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/identityLast3',
    },
    {
      name: 'identityLast3 with letters',
      payload: { hesCode: CODE, identityLast3: '79a' },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/identityLast3',
    },
    {
      name: 'unknown property',
      payload: { hesCode: CODE, hes_code: CODE },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/hes_code',
    },
    { name: 'body is an array', payload: [{ hesCode: CODE }], status: 400, code: 'VALIDATION_FAILED' },
    { name: 'too short code', payload: { hesCode: 'Q7W8E9R1T' }, status: 400, code: 'INVALID_HES_CODE' },
    {
      name: 'code with a typo character',
      payload: { hesCode: 'Q7W8E9R1T2.' },
      status: 400,
      code: 'INVALID_HES_CODE',
    },
    { name: 'empty code', payload: { hesCode: '  ' }, status: 400, code: 'INVALID_HES_CODE' },
    {
      name: 'visitor without visit (no default configured)',
      payload: { hesCode: CODE, kind: 'visitor' },
      status: 400,
      code: 'VISIT_REQUIRED',
    },
    {
      name: 'visit for a standard check',
      payload: { hesCode: CODE, visit: { city: 'Ankara', district: 'Çankaya', address: 'x' } },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/visit',
    },
    {
      name: 'visit missing district',
      payload: { hesCode: CODE, kind: 'visitor', visit: { city: 'Ankara', address: 'x' } },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/visit',
    },
    {
      name: 'visit latitude out of range',
      payload: {
        hesCode: CODE,
        kind: 'visitor',
        visit: { city: 'A', district: 'B', address: 'C', latitude: 91, longitude: 10 },
      },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/visit/latitude',
    },
    {
      name: 'visit with only one coordinate',
      payload: {
        hesCode: CODE,
        kind: 'visitor',
        visit: { city: 'A', district: 'B', address: 'C', latitude: 39.9 },
      },
      status: 400,
      code: 'VALIDATION_FAILED',
      path: '/visit/longitude',
    },
  ];

  it.each(cases)('$name → $status $code', async (c) => {
    const body = expectProblem(await post(c.payload), c.status, c.code);
    if (c.path) {
      expect(body.errors.map((e: { path: string }) => e.path)).toContain(c.path);
      expect(body.errors[0]).toMatchObject({ in: 'body', message: expect.any(String) });
    }
  });

  it('stores nothing for rejected single checks', async () => {
    expect(await h.db.prisma.check.count()).toBe(0);
  });

  it('malformed JSON is 400 VALIDATION_FAILED without echoing the body', async () => {
    const res = await post(`{"hesCode": "${CODE}",`);
    const body = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(body.detail).toMatch(/not valid JSON/);
  });

  it('an empty JSON body is 400', async () => {
    expectProblem(await post(''), 400, 'VALIDATION_FAILED');
  });

  it.each(['text/plain', 'text/csv', 'application/xml', 'application/x-www-form-urlencoded'])(
    'content type %s is 415 UNSUPPORTED_MEDIA_TYPE',
    async (type) => {
      expectProblem(await post(`hesCode=${CODE}`, { 'content-type': type }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    },
  );

  it('a body over the limit is 413 PAYLOAD_TOO_LARGE', async () => {
    expectProblem(await post({ hesCode: CODE, reference: 'x'.repeat(70 * 1024) }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a CSV roster over the limit is 413 PAYLOAD_TOO_LARGE', async () => {
    const csv = `hesCode,reference\n${`${CODE},ref\n`.repeat(5_000)}`;
    expectProblem(await post(csv, { 'content-type': 'text/csv' }, '/v1/batches'), 413, 'PAYLOAD_TOO_LARGE');
    expect(await h.db.prisma.batch.count()).toBe(0);
  });

  it.each([
    ['wait above 10000', '?wait=10001'],
    ['negative wait', '?wait=-1'],
    ['non-numeric wait', '?wait=soon'],
  ])('%s is 400 VALIDATION_FAILED on the querystring', async (_name, qs) => {
    const body = expectProblem(
      await post({ hesCode: CODE }, {}, `/v1/checks${qs}`),
      400,
      'VALIDATION_FAILED',
    );
    expect(body.errors[0]).toMatchObject({ in: 'querystring', path: '/wait' });
  });

  it('an Idempotency-Key over 200 characters is 400', async () => {
    const body = expectProblem(
      await post({ hesCode: CODE }, { 'idempotency-key': 'k'.repeat(201) }),
      400,
      'VALIDATION_FAILED',
    );
    expect(body.errors[0]).toMatchObject({ in: 'headers', path: '/idempotency-key' });
  });
});

describe('other problem mappings', () => {
  it('unknown routes are 404 NOT_FOUND problems that do not echo the path', async () => {
    const res = await h.app.inject({ method: 'GET', url: `/v1/codes/${CODE}`, headers: h.auth(h.keys.read) });
    expectProblem(res, 404, 'NOT_FOUND');
    expect(res.json().instance).toBe('/v1/…/…');
  });

  it('unknown and non-UUID check ids are 404', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', CODE]) {
      const res = await h.app.inject({
        method: 'GET',
        url: `/v1/checks/${id}`,
        headers: h.auth(h.keys.read),
      });
      expectProblem(res, 404, 'NOT_FOUND');
    }
  });

  it('list parameters are validated', async () => {
    for (const qs of [
      'limit=0',
      'limit=501',
      'status=done',
      'outcome=GREEN',
      'batchId=nope',
      'since=yesterday',
    ]) {
      const res = await h.app.inject({
        method: 'GET',
        url: `/v1/checks?${qs}`,
        headers: h.auth(h.keys.read),
      });
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
  });

  it.each([
    'garbage',
    'czo=',
    Buffer.from('s:abc').toString('base64url'),
    Buffer.from('{"seq":1}').toString('base64url'),
  ])('cursor %s is 400 INVALID_CURSOR', async (cursor) => {
    const res = await h.app.inject({
      method: 'GET',
      url: `/v1/checks?cursor=${cursor}`,
      headers: h.auth(h.keys.read),
    });
    expectProblem(res, 400, 'INVALID_CURSOR');
  });
});

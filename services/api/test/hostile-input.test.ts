import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEMS } from '../src/domain/problem.js';
import { type ApiHarness, seedCheckAndBatch, startApi } from './helpers.js';

// Issue 6 §2: whatever arrives, the API answers below 500, as application/problem+json with a code from
// the documented catalog, and a refused request leaves no row behind. The per-key limit is off so the
// generators, not the limiter, decide the answers.
let h: ApiHarness;
let checkId: string;
let batchId: string;

const STABLE_CODES = new Set(Object.keys(PROBLEMS).filter((c) => c !== 'INTERNAL'));
const RUNS = 40;

beforeAll(async () => {
  h = await startApi('hostile', { API_KEY_RATE_LIMIT_RPS: '0' });
  ({ checkId, batchId } = await seedCheckAndBatch(h));
});
afterAll(() => h.close());

async function counts() {
  const [checks, batches, idem] = await Promise.all([
    h.db.prisma.check.count(),
    h.db.prisma.batch.count(),
    h.db.prisma.idempotencyRecord.count(),
  ]);
  return { checks, batches, idem };
}

/** Never a 5xx; an error is a problem with a stable code whose status matches the answer. */
function expectSafe(res: LightMyRequestResponse, context: string) {
  expect(res.statusCode, `${context}\n${res.body.slice(0, 500)}`).toBeLessThan(500);
  if (res.statusCode >= 400) {
    expect(res.headers['content-type'], context).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(STABLE_CODES, `${context}: ${body.code}`).toContain(body.code);
    expect(body.status, context).toBe(res.statusCode);
  }
}

type Write = { method: 'POST'; url: string; headers?: Record<string, string>; payload: string | Buffer };

/** A write: safe answer, and no rows at all unless it was accepted. */
async function expectAtomic(req: Write, context = JSON.stringify(req.payload).slice(0, 300)) {
  const before = await counts();
  const res = await h.app.inject({
    ...req,
    headers: { ...h.auth(h.keys.admin), 'content-type': 'application/json', ...req.headers },
  });
  expectSafe(res, context);
  if (res.statusCode >= 400) expect(await counts(), context).toEqual(before);
  return res;
}

// Strings that tend to break things: control characters, NUL, lone surrogates, RTL marks, emoji,
// SQL and CSV metacharacters, very long runs.
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '\u0000',
    'A1B2C3D4E5\u0000',
    '\ud800',
    '\udfff\ud800',
    '\u202eA1B2C3D4E5',
    '\ufeffA1B2C3D4E5',
    "'; DROP TABLE checks; --",
    '"quoted","more"',
    '=cmd|"/C calc"!A0',
    '\r\n\r\n',
    'x'.repeat(201),
    '🙂'.repeat(150),
  ),
);
const hugeNumber = fc.oneof(
  fc.double({ noNaN: false }),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 1, -0),
  fc.bigInt().map((b) => Number(b)),
);
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 4 }), nasty, hugeNumber, fc.constant(null));
const wrongTypedCheck = fc.record(
  {
    hesCode: fc.oneof(anyValue, fc.constantFrom('A1B2-C3D4-E5', 'A1B2C3D4E5')),
    kind: fc.oneof(anyValue, fc.constantFrom('standard', 'employee', 'visitor', 'plus')),
    reference: anyValue,
    identityLast3: fc.oneof(anyValue, fc.constantFrom('792', '000')),
    visit: fc.oneof(
      anyValue,
      fc.record(
        {
          city: anyValue,
          district: anyValue,
          address: anyValue,
          latitude: hugeNumber,
          longitude: hugeNumber,
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

describe('POST /v1/checks', () => {
  it('random JSON values are refused cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        await expectAtomic({ method: 'POST', url: '/v1/checks', payload: JSON.stringify(value) ?? 'null' });
      }),
      { numRuns: RUNS },
    );
  });

  it('right fields with wrong types, control characters, unicode and huge numbers', async () => {
    await fc.assert(
      fc.asyncProperty(wrongTypedCheck, async (body) => {
        await expectAtomic({ method: 'POST', url: '/v1/checks', payload: JSON.stringify(body) });
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('odd query strings and headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 30 }),
        fc.string({
          unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
          maxLength: 300,
        }),
        fc.constantFrom(
          'application/json',
          'application/json; charset=latin1',
          'application/JSON',
          'text/csv',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/problem+json',
          '',
          ';;;',
        ),
        fc.constantFrom('*/*', 'text/csv', 'application/xml', '', 'a/b;q=x'),
        async (wait, idempotencyKey, contentType, accept) => {
          await expectAtomic(
            {
              method: 'POST',
              url: `/v1/checks?wait=${encodeURIComponent(wait)}`,
              headers: { 'content-type': contentType, accept, 'idempotency-key': idempotencyKey },
              payload: JSON.stringify({ hesCode: 'Q1W2E3R4T5' }),
            },
            `wait=${wait} ct=${contentType} idem=${idempotencyKey}`,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  const fixed: [string, string | Buffer, Record<string, string>?][] = [
    [
      'deep nesting 10 000 levels',
      `{"hesCode":"A1B2C3D4E5","visit":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    ],
    ['deep object nesting', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
    [
      'number overflowing a double',
      '{"hesCode":"A1B2C3D4E5","visit":{"city":"a","district":"b","address":"c","latitude":1e400}}',
    ],
    ['__proto__ pollution', '{"hesCode":"A1B2C3D4E5","__proto__":{"admin":true}}'],
    ['constructor.prototype pollution', '{"hesCode":"A1B2C3D4E5","constructor":{"prototype":{"x":1}}}'],
    ['duplicate keys', '{"hesCode":"A1B2C3D4E5","hesCode":{"x":1}}'],
    ['truncated JSON', '{"hesCode":"A1B2'],
    ['empty body', ''],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x68, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d])],
    ['NUL in reference', '{"hesCode":"A1B2C3D4E5","reference":"a\\u0000b"}'],
    [
      'NUL in visit',
      '{"hesCode":"A1B2C3D4E5","kind":"visitor","visit":{"city":"\\u0000","district":"b","address":"c"}}',
    ],
    ['lone surrogate in reference', '{"hesCode":"A1B2C3D4E5","reference":"\\ud800"}'],
    ['bad Idempotency-Key: empty', '{"hesCode":"A1B2C3D4E5"}', { 'idempotency-key': '' }],
    ['bad Idempotency-Key: 10 kB', '{"hesCode":"A1B2C3D4E5"}', { 'idempotency-key': 'k'.repeat(10_000) }],
    ['bad Idempotency-Key: NUL-free latin1', '{"hesCode":"A1B2C3D4E5"}', { 'idempotency-key': 'ÿþ\u00e9' }],
    [
      'very long Authorization',
      '{"hesCode":"A1B2C3D4E5"}',
      { authorization: `Bearer ${'a'.repeat(20_000)}` },
    ],
    ['very long unrelated header', '{"hesCode":"A1B2C3D4E5"}', { 'x-junk': 'j'.repeat(60_000) }],
    ['bogus content-length', '{"hesCode":"A1B2C3D4E5"}', { 'content-length': 'abc' }],
  ];
  it.each(fixed)('%s', async (name, payload, headers) => {
    await expectAtomic({ method: 'POST', url: '/v1/checks', payload, headers: headers ?? {} }, name);
  });
});

describe('POST /v1/batches (JSON)', () => {
  it('random rosters: every item shape, kind and nesting', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              kind: anyValue,
              items: fc.oneof(
                anyValue,
                fc.array(
                  fc.oneof(
                    anyValue,
                    fc.record(
                      { hesCode: fc.oneof(nasty, anyValue), reference: anyValue, identityLast3: anyValue },
                      { requiredKeys: [] },
                    ),
                  ),
                  { maxLength: 20 },
                ),
              ),
            },
            { requiredKeys: [] },
          ),
        ),
        async (body) => {
          await expectAtomic({ method: 'POST', url: '/v1/batches', payload: JSON.stringify(body) ?? 'null' });
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('100 001 items is 413 BATCH_TOO_LARGE and stores nothing', async () => {
    const items = Array.from({ length: 100_001 }, (_, i) => `{"hesCode":"A1B2C3D4E5","reference":"r${i}"}`);
    const res = await expectAtomic(
      { method: 'POST', url: '/v1/batches', payload: `{"items":[${items.join(',')}]}` },
      '100001',
    );
    expect(res.json()).toMatchObject({ code: 'BATCH_TOO_LARGE', limit: 100_000 });
  });

  it('a roster whose last item is refused stores none of the others', async () => {
    const items = Array.from({ length: 2_000 }, (_, i) => ({ hesCode: 'A1B2C3D4E5', reference: `r${i}` }));
    const bad = [...items, { hesCode: 'A1B2C3D4E5', identityLast3: 'abc' }];
    const res = await expectAtomic({
      method: 'POST',
      url: '/v1/batches',
      payload: JSON.stringify({ items: bad }),
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('POST /v1/batches (CSV)', () => {
  const cell = fc.oneof(
    fc.constantFrom(
      'A1B2C3D4E5',
      'A1B2-C3D4-E5',
      '"A1B2C3D4E5"',
      '""',
      '"a""b"',
      '"unterminated',
      ';',
      'a;b',
      '792',
      '',
    ),
    nasty.map((s) => s.replaceAll('\u0000', '')),
    fc.string({ maxLength: 12 }),
  );
  const header = fc.constantFrom(
    'hesCode,reference,identityLast3',
    'hes_code,reference',
    'HESCODE',
    'hesCode;reference',
    'reference',
    'hesCode,hesCode',
    '',
    '\ufeffhesCode,reference',
  );
  const csv = fc
    .tuple(
      header,
      fc.array(fc.array(cell, { minLength: 0, maxLength: 4 }), { maxLength: 15 }),
      fc.constantFrom('\n', '\r\n', '\r'),
      fc.boolean(),
    )
    .map(
      ([head, rows, eol, bom]) =>
        `${bom ? '\ufeff' : ''}${head}${eol}${rows.map((r) => r.join(',')).join(eol)}`,
    );

  it('quotes, BOM, CRLF, semicolons, empty lines, ragged rows', async () => {
    await fc.assert(
      fc.asyncProperty(csv, async (text) => {
        await expectAtomic(
          { method: 'POST', url: '/v1/batches', headers: { 'content-type': 'text/csv' }, payload: text },
          JSON.stringify(text).slice(0, 300),
        );
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('arbitrary bytes (broken encodings) after a valid header', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('standard', 'plus', 'vip', ''),
        async (bytes, kind) => {
          const payload = Buffer.concat([Buffer.from('hesCode,reference\n'), Buffer.from(bytes)]);
          await expectAtomic(
            {
              method: 'POST',
              url: `/v1/batches?kind=${kind}`,
              headers: { 'content-type': 'text/csv' },
              payload,
            },
            Buffer.from(bytes).toString('hex'),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  const fixed: [string, string | Buffer][] = [
    ['BOM + CRLF + blank lines', '\ufeffhesCode,reference\r\n\r\nA1B2C3D4E5,a\r\n\r\n'],
    ['semicolon separated', 'hesCode;reference\nA1B2C3D4E5;a\n'],
    ['unterminated quote', 'hesCode,reference\n"A1B2C3D4E5,a\n'],
    ['NUL in a reference', 'hesCode,reference\nA1B2C3D4E5,a\u0000b\n'],
    ['NUL in a code', 'hesCode,reference\nA1B2\u0000C3D4E5,a\n'],
    [
      'invalid UTF-8 in a reference',
      Buffer.from([...Buffer.from('hesCode,reference\nA1B2C3D4E5,'), 0xc3, 0x28, 0xff, 0x0a]),
    ],
    ['UTF-16 roster', Buffer.from('\ufeffhesCode,reference\nA1B2C3D4E5,a\n', 'utf16le')],
    ['a 70 kB field', `hesCode,reference\nA1B2C3D4E5,${'x'.repeat(70_000)}\n`],
    ['header only', 'hesCode,reference\n'],
    ['nothing', ''],
  ];
  it.each(fixed)('%s', async (name, payload) => {
    await expectAtomic(
      { method: 'POST', url: '/v1/batches', headers: { 'content-type': 'text/csv' }, payload },
      name,
    );
  });

  it('100 001 rows is 413 BATCH_TOO_LARGE and stores nothing', async () => {
    const payload = `hesCode,reference\r\n${'A1B2C3D4E5,ref\r\n'.repeat(100_001)}`;
    const res = await expectAtomic(
      { method: 'POST', url: '/v1/batches', headers: { 'content-type': 'text/csv' }, payload },
      'csv 100001',
    );
    expect(res.json()).toMatchObject({ code: 'BATCH_TOO_LARGE', limit: 100_000 });
  });
});

describe('GET routes', () => {
  const param = fc.oneof(fc.string({ maxLength: 40 }), nasty, fc.uuid(), fc.constant(checkIdPlaceholder()));

  it('random ids, filters, cursors, limits and Accept headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/checks/:id', '/v1/checks', '/v1/batches/:id', '/v1/batches/:id/checks'),
        param,
        fc.dictionary(
          fc.constantFrom(
            'reference',
            'status',
            'outcome',
            'batchId',
            'since',
            'cursor',
            'limit',
            'wait',
            'x',
          ),
          fc.oneof(param, hugeNumber.map(String)),
          { maxKeys: 4 },
        ),
        fc.constantFrom(
          'application/json',
          'text/csv',
          'text/csv, application/json',
          '*/*',
          'image/png',
          '',
          ';q=',
          'text/csv;q=0',
        ),
        async (route, id, query, accept) => {
          const realId = route.startsWith('/v1/batches') ? batchId : checkId;
          const path = route.replace(':id', encodePath(id === PLACEHOLDER ? realId : id));
          const qs = new URLSearchParams(query).toString();
          const res = await h.app.inject({
            method: 'GET',
            url: qs ? `${path}?${qs}` : path,
            headers: { ...h.auth(h.keys.admin), accept },
          });
          expectSafe(res, `${path}?${qs} accept=${accept}`);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('raw, undecodable URLs', async () => {
    for (const url of [
      '/v1/checks/%',
      '/v1/checks/%ZZ',
      '/v1/checks?reference=%',
      '/v1/checks?limit=%00',
      `/v1/checks/${'%C0%AF'.repeat(50)}`,
      `/v1/batches/${'a'.repeat(5_000)}/checks`,
      '/v1/checks?reference=a%00b',
      '/v1/checks?since=99999-01-01',
      '/v1/checks?since=2026-02-30',
      '/v1/checks?limit=1e309',
    ]) {
      const res = await h.app.inject({ method: 'GET', url, headers: h.auth(h.keys.admin) });
      expectSafe(res, url);
    }
  });
});

/** Lone surrogates cannot be percent-encoded; send them as the invalid UTF-8 a client might. */
function encodePath(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

describe('what the fixes answer', () => {
  it('NUL or an unpaired surrogate in a JSON string is 400 VALIDATION_FAILED naming the field', async () => {
    for (const payload of [
      '{"hesCode":"A1B2C3D4E5","reference":"a\\u0000b"}',
      '{"hesCode":"A1B2C3D4E5","reference":"\\ud800x"}',
    ]) {
      const res = await expectAtomic({ method: 'POST', url: '/v1/checks', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ path: '/reference', in: 'body' }],
      });
    }
    const list = await h.app.inject({
      method: 'GET',
      url: '/v1/checks?reference=a%00b',
      headers: h.auth(h.keys.admin),
    });
    expect(list.statusCode).toBe(400);
    expect(list.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ path: '/reference', in: 'querystring' }],
    });
  });

  it('a NUL byte in a CSV roster is 400 CSV_INVALID', async () => {
    const res = await expectAtomic({
      method: 'POST',
      url: '/v1/batches',
      headers: { 'content-type': 'text/csv' },
      payload: 'hesCode,reference\nA1B2C3D4E5,ok\nB2C3D4E5F6,a\u0000b\n',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('CSV_INVALID');
  });

  it('undecodable URLs and over-long path segments are 404 problems that do not echo the path', async () => {
    for (const url of ['/v1/checks/%E0%A4%A', `/v1/checks/A1B2C3D4E5${'x'.repeat(300)}`]) {
      const res = await h.app.inject({ method: 'GET', url, headers: h.auth(h.keys.admin) });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().code).toBe('NOT_FOUND');
      expect(res.body).not.toContain('A1B2C3D4E5');
    }
  });
});

const PLACEHOLDER = '\u0001real-id\u0001';
function checkIdPlaceholder() {
  return PLACEHOLDER;
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSandboxCodes,
  sandboxIdentityLast3,
  sandboxOutcomeFor,
  sandboxResultFor,
} from '../src/dataset.js';
import { LIVE_PREFIX, TEST_PREFIX } from '../src/routes/ministry.js';
import { basic, PASSWORD, PREFIXES, type RunningSandbox, startSandbox, USERNAME } from './helpers.js';

const SINGLE = [
  'check-hes-code',
  'check-employee-hes-code',
  'check-visitor-hes-code',
  'check-hes-code-plus',
] as const;
const BULK = ['check-hes-codes', 'check-hes-codes-plus'] as const;
const VISIT = {
  city: 'Ankara',
  district: 'Çankaya',
  explicit_address: 'Atatürk Blv. No:1',
  location: { latitude: 39.92, longitude: 32.85 },
};

const BASE_KEYS = [
  'current_health_status',
  'expiration_date',
  'masked_identity_number',
  'masked_firstname',
  'masked_lastname',
];
const PLUS_KEYS = [
  ...BASE_KEYS,
  'is_vaccinated',
  'is_immune',
  'is_test_data_shared',
  'last_negative_test_date',
];
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}(?::\d{2}:\d{2}(?:\.\d{3}Z)?)?$/;
const WIRE_BOOLEAN = [true, false, null, 'true', 'false', 'null'];

const bodyFor = (endpoint: string, code: string): unknown =>
  endpoint === 'check-visitor-hes-code' ? { hes_code: code, ...VISIT } : { hes_code: code };

/** Checks a success body against the SPEC §3 shape, independently of the dataset helpers. */
function expectResultShape(result: Record<string, unknown>, plus: boolean, code: string): void {
  expect(Object.keys(result)).toEqual(plus ? PLUS_KEYS : BASE_KEYS);
  expect(['RISKLESS', 'RISKY']).toContain(result.current_health_status);
  expect(result.expiration_date).toMatch(DATE);
  expect(result.masked_identity_number).toMatch(/^\*{8}\d{3}$/);
  expect(result.masked_identity_number).toBe(`********${sandboxIdentityLast3(code)}`);
  expect(result.masked_firstname).toMatch(/^\p{Lu}{2}\*{4} *$/u);
  expect(result.masked_lastname).toMatch(/^\p{Lu}{2}\*{4} *$/u);
  if (plus) {
    for (const key of ['is_vaccinated', 'is_immune', 'is_test_data_shared'])
      expect(WIRE_BOOLEAN).toContain(result[key]);
    const negative = result.last_negative_test_date;
    expect(negative === null || negative === 'null' || DATE.test(String(negative))).toBe(true);
  }
}

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
});

describe('single-code endpoints on both prefixes', () => {
  const [riskless] = generateSandboxCodes('RISKLESS', 1, 11);
  const [risky] = generateSandboxCodes('RISKY', 1, 12);

  for (const prefix of PREFIXES) {
    for (const endpoint of SINGLE) {
      const plus = endpoint === 'check-hes-code-plus';
      it(`${prefix}${endpoint} answers RISKLESS and RISKY with the exact SPEC shape`, async () => {
        for (const [code, status] of [
          [riskless!, 'RISKLESS'],
          [risky!, 'RISKY'],
        ] as const) {
          const answer = await sandbox.call(endpoint, bodyFor(endpoint, code), { prefix });
          expect(answer.status).toBe(200);
          expect(answer.headers['content-type']).toMatch(/^application\/json/);
          const body = answer.json() as Record<string, unknown>;
          expect(body.current_health_status).toBe(status);
          expectResultShape(body, plus, code);
          expect(body).toEqual(sandboxResultFor(code, { plus }));
        }
      });

      it(`${prefix}${endpoint} answers business errors with 400 and an errorKey`, async () => {
        const cases = [
          [generateSandboxCodes('NOT_FOUND', 1, 3)[0]!, 'hescodenotfound'],
          [generateSandboxCodes('EXPIRED', 1, 4)[0]!, 'hescodehasbeenexpired'],
          ['TOO-SHORT', 'hescodenotfound'],
          ['A1B2C3D4E5F', 'hescodenotfound'],
          ['A1B2C3D4E!', 'hescodenotfound'],
          ['', 'hescodenotfound'],
        ] as const;
        for (const [code, errorKey] of cases) {
          const answer = await sandbox.call(endpoint, bodyFor(endpoint, code), { prefix });
          expect(answer.status).toBe(400);
          const body = answer.json() as Record<string, unknown>;
          expect(body).toMatchObject({ errorKey, status: 400, params: [] });
          expect(typeof body.title).toBe('string');
          expect(typeof body.message).toBe('string');
        }
      });
    }
  }

  it('accepts dashes and lower case, and answers for the normalised code', async () => {
    const code = generateSandboxCodes('RISKY', 1, 5)[0]!;
    const printed = `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`.toLowerCase();
    const answer = await sandbox.call('check-hes-code', { hes_code: printed });
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual(sandboxResultFor(code));
  });

  it('tolerates a trailing slash', async () => {
    const code = generateSandboxCodes('RISKLESS', 1, 6)[0]!;
    const answer = await sandbox.call('check-hes-code/', { hes_code: code }, { prefix: LIVE_PREFIX });
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual(sandboxResultFor(code));
  });

  it('answers a missing or non-string hes_code with a 400 validation error naming the field', async () => {
    for (const body of [{}, { hes_code: 12 }, { hes_code: null }]) {
      const answer = await sandbox.call('check-hes-code', body);
      expect(answer.status).toBe(400);
      expect(answer.json()).toMatchObject({
        errorKey: 'validation.error',
        status: 400,
        params: ['hes_code'],
      });
    }
    const array = await sandbox.call('check-hes-code', [{ hes_code: 'A1B2C3D4E5' }]);
    expect(array.status).toBe(400);
    expect(array.json()).toMatchObject({ errorKey: 'validation.error', params: ['body'] });
  });
});

describe('check-visitor-hes-code', () => {
  const code = generateSandboxCodes('RISKLESS', 1, 21)[0]!;

  for (const field of ['city', 'district', 'explicit_address'] as const) {
    it(`answers 400 validation.error naming ${field} when it is missing or blank`, async () => {
      const missing: Record<string, unknown> = { hes_code: code, ...VISIT };
      delete missing[field];
      for (const body of [
        missing,
        { hes_code: code, ...VISIT, [field]: '' },
        { hes_code: code, ...VISIT, [field]: '   ' },
      ]) {
        const answer = await sandbox.call('check-visitor-hes-code', body);
        expect(answer.status).toBe(400);
        const problem = answer.json() as Record<string, unknown>;
        expect(problem).toMatchObject({ errorKey: 'validation.error', title: 'Bad Request', status: 400 });
        expect(problem.fieldErrors).toEqual([expect.objectContaining({ field })]);
        expect(String(problem.detail)).toContain(field);
      }
    });
  }

  it('accepts a visit without location and with numeric-string coordinates, rejects bad coordinates', async () => {
    const { location: _, ...withoutLocation } = VISIT;
    expect(
      (await sandbox.call('check-visitor-hes-code', { hes_code: code, ...withoutLocation })).status,
    ).toBe(200);
    const strings = { ...VISIT, location: { latitude: '39.9', longitude: '32.8' } };
    expect((await sandbox.call('check-visitor-hes-code', { hes_code: code, ...strings })).status).toBe(200);
    const bad = await sandbox.call('check-visitor-hes-code', {
      hes_code: code,
      ...VISIT,
      location: { latitude: 'north', longitude: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ errorKey: 'validation.error', params: ['location.latitude'] });
  });

  it('the single-code endpoints ignore visit fields they do not need', async () => {
    const answer = await sandbox.call('check-hes-code', { hes_code: code, city: '' });
    expect(answer.status).toBe(200);
  });
});

describe('bulk endpoints on both prefixes', () => {
  const riskless = generateSandboxCodes('RISKLESS', 3, 31);
  const risky = generateSandboxCodes('RISKY', 2, 32);
  const notFound = generateSandboxCodes('NOT_FOUND', 2, 33);
  const expired = generateSandboxCodes('EXPIRED', 2, 34);
  const malformed = ['abc', 'A1B2C3D4E5F6', '__proto__'];

  for (const prefix of PREFIXES) {
    for (const endpoint of BULK) {
      const plus = endpoint === 'check-hes-codes-plus';
      it(`${prefix}${endpoint} splits mixed outcomes into success_map and unsuccess_map`, async () => {
        const sent = [...riskless, ...risky, ...notFound, ...expired, ...malformed];
        const answer = await sandbox.call(
          endpoint,
          sent.map((hes_code) => ({ hes_code })),
          { prefix },
        );
        expect(answer.status).toBe(200);
        const body = answer.json() as {
          success_map: Record<string, Record<string, unknown>>;
          unsuccess_map: Record<string, string>;
        };
        expect(Object.keys(body)).toEqual(['success_map', 'unsuccess_map']);
        expect(Object.keys(body.success_map).sort()).toEqual([...riskless, ...risky].sort());
        for (const code of riskless) expect(body.success_map[code]!.current_health_status).toBe('RISKLESS');
        for (const code of risky) expect(body.success_map[code]!.current_health_status).toBe('RISKY');
        for (const [code, result] of Object.entries(body.success_map)) {
          expectResultShape(result, plus, code);
          expect(result).toEqual(sandboxResultFor(code, { plus }));
        }
        const expectedUnsuccess = Object.fromEntries([
          ...notFound.map((c) => [c, 'hescodenotfound']),
          ...expired.map((c) => [c, 'hescodehasbeenexpired']),
          ...malformed.map((c) => [c, 'hescodenotfound']),
        ]);
        expect(body.unsuccess_map).toEqual(expectedUnsuccess);
        expect(Object.hasOwn(body.unsuccess_map, '__proto__')).toBe(true);
      });

      it(`${prefix}${endpoint} answers an empty array with empty maps`, async () => {
        const answer = await sandbox.call(endpoint, [], { prefix });
        expect(answer.status).toBe(200);
        expect(answer.json()).toEqual({ success_map: {}, unsuccess_map: {} });
      });

      it(`${prefix}${endpoint} accepts exactly 500 codes and rejects 501 with 400`, async () => {
        const codes = generateSandboxCodes('RISKLESS', 501, 35);
        const ok = await sandbox.call(
          endpoint,
          codes.slice(0, 500).map((hes_code) => ({ hes_code })),
          { prefix },
        );
        expect(ok.status).toBe(200);
        expect(Object.keys((ok.json() as { success_map: object }).success_map)).toHaveLength(500);
        const tooMany = await sandbox.call(
          endpoint,
          codes.map((hes_code) => ({ hes_code })),
          { prefix },
        );
        expect(tooMany.status).toBe(400);
        expect(tooMany.json()).toMatchObject({ errorKey: 'hescodes.limit.exceeded', status: 400 });
      });
    }
  }

  it('keys valid codes by their normalised form', async () => {
    const code = riskless[0]!;
    const answer = await sandbox.call('check-hes-codes', [
      { hes_code: `${code.slice(0, 4)}-${code.slice(4)}`.toLowerCase() },
    ]);
    expect(Object.keys((answer.json() as { success_map: object }).success_map)).toEqual([code]);
  });

  it('rejects a body that is not an array of {hes_code: string} with 400', async () => {
    for (const body of [{ hes_code: riskless[0] }, [{ hes_code: 5 }], ['A1B2C3D4E5']]) {
      const answer = await sandbox.call('check-hes-codes', body);
      expect(answer.status).toBe(400);
      expect(answer.json()).toMatchObject({ errorKey: 'validation.error', status: 400 });
    }
  });
});

describe('authentication', () => {
  const code = 'A1B2C3D4E5';
  const wrong = [
    ['missing', null],
    ['wrong password', basic(USERNAME, `${PASSWORD}x`)],
    ['wrong user', basic(`${USERNAME}x`, PASSWORD)],
    ['password prefix', basic(USERNAME, PASSWORD.slice(0, -1))],
    ['bearer scheme', 'Bearer abc'],
    ['garbage', 'Basic %%%'],
  ] as const;

  for (const prefix of PREFIXES) {
    for (const endpoint of [...SINGLE, ...BULK]) {
      it(`${prefix}${endpoint} answers 401 with WWW-Authenticate: Basic for missing/wrong credentials`, async () => {
        const body = endpoint.startsWith('check-hes-codes') ? [{ hes_code: code }] : bodyFor(endpoint, code);
        for (const [, auth] of wrong) {
          const answer = await sandbox.call(endpoint, body, { prefix, auth });
          expect(answer.status).toBe(401);
          expect(String(answer.headers['www-authenticate'])).toMatch(/^Basic\b/);
          expect(answer.json()).toMatchObject({ title: 'Unauthorized', status: 401 });
        }
      });
    }
  }

  it('checks credentials before the body, so a malformed body without credentials is still 401', async () => {
    const answer = await sandbox.call('check-hes-code', undefined, { raw: '{"hes_code":', auth: null });
    expect(answer.status).toBe(401);
  });

  it('accepts the scheme name in any case', async () => {
    const auth = basic(USERNAME, PASSWORD).replace('Basic', 'basic');
    const answer = await sandbox.call('check-hes-code', { hes_code: code }, { auth });
    expect(answer.status).toBe(200);
  });
});

describe('malformed requests and unknown paths', () => {
  it('answers malformed JSON with 400, not 500', async () => {
    for (const raw of ['{"hes_code":', 'not json', '{"hes_code": "A1B2C3D4E5"}}']) {
      const answer = await sandbox.call('check-hes-code', undefined, { raw });
      expect(answer.status).toBe(400);
      expect(answer.json()).toMatchObject({ status: 400, title: 'Bad Request' });
    }
  });

  it('answers an empty JSON body with 400', async () => {
    const answer = await sandbox.call('check-hes-codes', undefined, { raw: '' });
    expect(answer.status).toBe(400);
  });

  it('answers a non-JSON content type with 400', async () => {
    for (const contentType of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      const answer = await sandbox.call('check-hes-code', undefined, {
        raw: '{"hes_code":"A1B2C3D4E5"}',
        headers: { 'content-type': contentType },
      });
      expect(answer.status, contentType).toBe(400);
      expect(answer.json()).toMatchObject({ status: 400 });
    }
  });

  it('accepts application/json with a charset', async () => {
    const answer = await sandbox.call('check-hes-code', undefined, {
      raw: '{"hes_code":"A1B2C3D4E5"}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(answer.status).toBe(200);
  });

  it('answers only POST: other methods get 405 with Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const answer = await sandbox.call('check-hes-code', undefined, { method });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('POST');
    }
  });

  it('answers unknown paths with a JSON 404', async () => {
    for (const path of [`${TEST_PREFIX}check-everything`, '/services/g2g/saglik/hes', '/']) {
      const answer = await sandbox.call('', { hes_code: 'A1B2C3D4E5' }, { prefix: path });
      expect(answer.status).toBe(404);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(answer.json()).toMatchObject({ status: 404, title: 'Not Found' });
    }
  });

  it('agrees with the dataset helpers on outcome and identity digits for generated codes', async () => {
    const codes = [
      ...generateSandboxCodes('RISKLESS', 10, 41),
      ...generateSandboxCodes('RISKY', 10, 42),
      ...generateSandboxCodes('NOT_FOUND', 10, 43),
      ...generateSandboxCodes('EXPIRED', 10, 44),
    ];
    const answer = await sandbox.call(
      'check-hes-codes',
      codes.map((hes_code) => ({ hes_code })),
    );
    const body = answer.json() as {
      success_map: Record<string, { current_health_status: string; masked_identity_number: string }>;
      unsuccess_map: Record<string, string>;
    };
    for (const code of codes) {
      const outcome = sandboxOutcomeFor(code);
      if (outcome === 'RISKLESS' || outcome === 'RISKY') {
        expect(body.success_map[code]!.current_health_status).toBe(outcome);
        expect(body.success_map[code]!.masked_identity_number.slice(-3)).toBe(sandboxIdentityLast3(code));
      } else {
        expect(body.unsuccess_map[code]).toBe(
          outcome === 'EXPIRED' ? 'hescodehasbeenexpired' : 'hescodenotfound',
        );
      }
    }
  });
});

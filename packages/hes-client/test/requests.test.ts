import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { HES_BASE_URLS, HesClient, HesInvalidArgumentError } from '../src/index.js';
import {
  BASIC,
  json,
  LIVE_PREFIX,
  mockMinistry,
  ORIGIN,
  PASSWORD,
  rejectionOf,
  TEST_PREFIX,
  USERNAME,
  wirePlus,
  wireResult,
} from './support.js';

const EXPECTED_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json',
  authorization: BASIC,
  'user-agent': 'hes-gateway/0.1',
};

describe('requests on the wire', () => {
  it('check-hes-code: POST, normalised code, JSON headers and Basic auth', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-code', () => json(wireResult()));
    const result = await ministry.client().checkHesCode('a1b2-c3d4-e5');
    expect(ministry.calls).toEqual([
      {
        path: `${TEST_PREFIX}check-hes-code`,
        method: 'POST',
        headers: EXPECTED_HEADERS,
        body: { hes_code: 'A1B2C3D4E5' },
      },
    ]);
    expect(BASIC).toBe('Basic a3VydW0tZzJnOnBAc3M6d8O2cmQ=');
    expect(result).toEqual({
      healthStatus: 'RISKLESS',
      expiresAt: new Date('2070-12-30T13:00:00.000Z'),
      maskedIdentityNumber: '********792',
      maskedFirstName: 'DE****',
      maskedLastName: 'DE****',
    });
    ministry.agent.assertNoPendingInterceptors();
  });

  it('check-employee-hes-code', async () => {
    const ministry = mockMinistry();
    ministry.on('check-employee-hes-code', () => json(wireResult({ current_health_status: 'RISKY' })));
    const result = await ministry.client().checkEmployeeHesCode('Q1W2E3R4T5');
    expect(ministry.calls).toEqual([
      {
        path: `${TEST_PREFIX}check-employee-hes-code`,
        method: 'POST',
        headers: EXPECTED_HEADERS,
        body: { hes_code: 'Q1W2E3R4T5' },
      },
    ]);
    expect(result.healthStatus).toBe('RISKY');
  });

  it('check-visitor-hes-code sends the visit location', async () => {
    const ministry = mockMinistry();
    ministry.on('check-visitor-hes-code', () => json(wireResult()), { times: 2 });
    const client = ministry.client();
    await client.checkVisitorHesCode('A1B2C3D4E5', {
      city: 'Ankara',
      district: 'Çankaya',
      address: 'Atatürk Blv. No:1 ',
      latitude: 39.9208,
      longitude: 32.8541,
    });
    await client.checkVisitorHesCode('A1B2C3D4E5', { city: 'İzmir', district: 'Konak', address: 'Kordon' });
    expect(ministry.calls.map((call) => [call.path, call.headers, call.body])).toEqual([
      [
        `${TEST_PREFIX}check-visitor-hes-code`,
        EXPECTED_HEADERS,
        {
          hes_code: 'A1B2C3D4E5',
          city: 'Ankara',
          district: 'Çankaya',
          explicit_address: 'Atatürk Blv. No:1',
          location: { latitude: 39.9208, longitude: 32.8541 },
        },
      ],
      [
        `${TEST_PREFIX}check-visitor-hes-code`,
        EXPECTED_HEADERS,
        {
          hes_code: 'A1B2C3D4E5',
          city: 'İzmir',
          district: 'Konak',
          explicit_address: 'Kordon',
          location: { latitude: null, longitude: null },
        },
      ],
    ]);
  });

  it('check-hes-code-plus returns the plus fields', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-code-plus', () => json(wirePlus()));
    const result = await ministry.client().checkHesCodePlus('A1B2C3D4E5');
    expect(ministry.calls).toEqual([
      {
        path: `${TEST_PREFIX}check-hes-code-plus`,
        method: 'POST',
        headers: EXPECTED_HEADERS,
        body: { hes_code: 'A1B2C3D4E5' },
      },
    ]);
    expect(result.plus).toEqual({
      vaccinated: true,
      immune: false,
      testDataShared: null,
      lastNegativeTestAt: new Date('2021-08-09T11:51:30.597Z'),
    });
    expect(result.healthStatus).toBe('RISKLESS');
  });

  it('check-hes-codes sends an array of {hes_code}', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', () =>
      json({ success_map: { A1B2C3D4E5: wireResult() }, unsuccess_map: { Q1W2E3R4T5: 'hescodenotfound' } }),
    );
    await ministry.client().checkHesCodes(['a1b2-c3d4-e5', 'Q1W2E3R4T5']);
    expect(ministry.calls).toEqual([
      {
        path: `${TEST_PREFIX}check-hes-codes`,
        method: 'POST',
        headers: EXPECTED_HEADERS,
        body: [{ hes_code: 'A1B2C3D4E5' }, { hes_code: 'Q1W2E3R4T5' }],
      },
    ]);
  });

  it('check-hes-codes-plus sends an array of {hes_code}', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes-plus', () =>
      json({ success_map: { A1B2C3D4E5: wirePlus() }, unsuccess_map: {} }),
    );
    const entries = await ministry.client().checkHesCodesPlus(['A1B2C3D4E5']);
    expect(ministry.calls).toEqual([
      {
        path: `${TEST_PREFIX}check-hes-codes-plus`,
        method: 'POST',
        headers: EXPECTED_HEADERS,
        body: [{ hes_code: 'A1B2C3D4E5' }],
      },
    ]);
    expect(entries).toEqual([
      {
        code: 'A1B2C3D4E5',
        ok: true,
        result: {
          healthStatus: 'RISKLESS',
          expiresAt: new Date('2070-12-30T13:00:00.000Z'),
          maskedIdentityNumber: '********792',
          maskedFirstName: 'DE****',
          maskedLastName: 'DE****',
          plus: {
            vaccinated: true,
            immune: false,
            testDataShared: null,
            lastNegativeTestAt: expect.any(Date),
          },
        },
      },
    ]);
  });

  it('sends the configured user agent', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-code', () => json(wireResult()));
    await ministry.client({ userAgent: 'kurum-x/2.0' }).checkHesCode('A1B2C3D4E5');
    expect(ministry.calls[0]?.headers['user-agent']).toBe('kurum-x/2.0');
  });
});

describe('base URL', () => {
  it.each([
    ['test, with trailing slash', HES_BASE_URLS.test, TEST_PREFIX],
    ['test, without trailing slash', HES_BASE_URLS.test.slice(0, -1), TEST_PREFIX],
    ['live, with trailing slash', HES_BASE_URLS.live, LIVE_PREFIX],
    ['live, without trailing slash', HES_BASE_URLS.live.slice(0, -1), LIVE_PREFIX],
  ])('%s keeps the path prefix', async (_label, baseUrl, prefix) => {
    const ministry = mockMinistry();
    ministry.on('check-hes-code', () => json(wireResult()), { prefix });
    await ministry.client({ baseUrl }).checkHesCode('A1B2C3D4E5');
    expect(ministry.calls.map((call) => call.path)).toEqual([`${prefix}check-hes-code`]);
  });

  it('works at the root of a local sandbox origin', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    let path = '';
    agent
      .get('http://127.0.0.1:4010')
      .intercept({ path: '/check-hes-code', method: 'POST' })
      .reply((opts) => {
        path = opts.path;
        return { statusCode: 200, data: wireResult() };
      });
    const client = new HesClient({
      baseUrl: 'http://127.0.0.1:4010',
      username: USERNAME,
      password: PASSWORD,
      dispatcher: agent,
    });
    await client.checkHesCode('A1B2C3D4E5');
    expect(path).toBe('/check-hes-code');
  });

  it('the constants are the Ministry URLs', () => {
    expect(HES_BASE_URLS).toEqual({
      live: 'https://hesservis.turkiye.gov.tr/services/g2g/saglik/hes/',
      test: 'https://hesservis.turkiye.gov.tr/services/g2g/test/saglik/hes/',
    });
    expect(`${ORIGIN}${TEST_PREFIX}`).toBe(HES_BASE_URLS.test);
  });
});

describe('options', () => {
  const base = { baseUrl: HES_BASE_URLS.test, username: USERNAME, password: PASSWORD };

  it.each([
    ['a relative baseUrl', { baseUrl: 'services/g2g' }],
    ['a non-http baseUrl', { baseUrl: 'ftp://hesservis.turkiye.gov.tr/' }],
    ['credentials in the baseUrl', { baseUrl: 'https://u:p@hesservis.turkiye.gov.tr/' }],
    ['a query in the baseUrl', { baseUrl: `${HES_BASE_URLS.test}?x=1` }],
    ['an empty username', { username: '' }],
    ['a colon in the username', { username: 'a:b' }],
    ['a non-string password', { password: undefined as unknown as string }],
    ['zero connections', { connections: 0 }],
    ['fractional connections', { connections: 1.5 }],
    ['a negative headers timeout', { headersTimeoutMs: -1 }],
    ['an infinite body timeout', { bodyTimeoutMs: Number.POSITIVE_INFINITY }],
    ['a multi-line user agent', { userAgent: 'a\r\nx-injected: 1' }],
  ])('rejects %s', (_label, override) => {
    expect(() => new HesClient({ ...base, ...override })).toThrow(HesInvalidArgumentError);
  });

  it('never puts the password in an options error', () => {
    const error = (() => {
      try {
        new HesClient({ ...base, username: 'a:b', password: 'top-secret-pw' });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(error?.message).toBe('username must be a non-empty string without ":"');
  });

  it('close() leaves a caller-owned dispatcher open and rejects later calls', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-code', () => json(wireResult()));
    const client = ministry.client();
    await client.close();
    await client.close();
    const error = await rejectionOf(client.checkHesCode('A1B2C3D4E5'));
    expect(error.code).toBe('HES_ERR_CONNECTION');
    expect(ministry.calls).toHaveLength(0);
    // The MockAgent still answers: it was not closed by the client.
    const other = ministry.client();
    await expect(other.checkHesCode('A1B2C3D4E5')).resolves.toMatchObject({ healthStatus: 'RISKLESS' });
  });
});

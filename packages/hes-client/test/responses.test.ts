import { inspect } from 'node:util';
import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  HesBusinessError,
  HesCredentialsError,
  HesInvalidArgumentError,
  HesProtocolError,
  HesServerError,
  HesThrottledError,
  isHesError,
} from '../src/index.js';
import { json, mockMinistry, rejectionOf, wirePlus, wireResult } from './support.js';

const CODE = 'A1B2C3D4E5';

/** One check-hes-code call answered with `answer`; returns the rejection. */
async function failingCall(answer: {
  statusCode: number;
  data?: object | string;
  headers?: Record<string, string>;
}) {
  const ministry = mockMinistry();
  ministry.on('check-hes-code', () => answer);
  const error = await rejectionOf(ministry.client().checkHesCode(CODE));
  ministry.agent.assertNoPendingInterceptors();
  return error;
}

const problem = (errorKey: string) => ({
  errorKey,
  params: [CODE],
  type: 'https://www.jhipster.tech/problem/problem-with-message',
  title: 'HES code not found',
  status: 400,
  message: `error.${errorKey}`,
});

describe('answers of single calls', () => {
  it.each([
    ['hescodenotfound', 'NOT_FOUND'],
    ['hescodehasbeenexpired', 'EXPIRED'],
    ['HesCodeNotFound', 'NOT_FOUND'],
    ['validation.error', 'UNKNOWN'],
    ['somethingelse', 'UNKNOWN'],
  ])('400 with errorKey %s → HesBusinessError %s', async (errorKey, reason) => {
    const error = await failingCall(json(problem(errorKey), 400));
    expect(error).toBeInstanceOf(HesBusinessError);
    expect(error).toMatchObject({
      code: 'HES_ERR_BUSINESS',
      category: 'business',
      reason,
      errorKey,
      status: 400,
      endpoint: 'check-hes-code',
    });
    expect(error.bodyExcerpt).toContain(`"errorKey":"${errorKey}"`);
    expect(error.bodyExcerpt).toContain('"params":["A1******E5"]');
  });

  it.each([
    ['an HTML page', '<html><body>Bad Request</body></html>'],
    ['JSON without errorKey', JSON.stringify({ title: 'Bad Request', status: 400 })],
    ['an empty body', ''],
    ['a blank errorKey', JSON.stringify({ errorKey: '  ' })],
  ])('400 with %s → HesProtocolError', async (_label, data) => {
    const error = await failingCall({ statusCode: 400, data });
    expect(error).toBeInstanceOf(HesProtocolError);
    expect(error).toMatchObject({ code: 'HES_ERR_PROTOCOL', category: 'protocol', status: 400 });
  });

  it.each([[401], [403]])('%d → HesCredentialsError', async (status) => {
    const error = await failingCall(
      json({ title: 'Unauthorized', status, detail: 'Full authentication is required' }, status),
    );
    expect(error).toBeInstanceOf(HesCredentialsError);
    expect(error).toMatchObject({ code: 'HES_ERR_CREDENTIALS', category: 'credentials', status });
  });

  it('429 with Retry-After: 3 → retryAfterMs 3000', async () => {
    const error = await failingCall({
      statusCode: 429,
      data: { title: 'Too Many Requests', errorKey: 'ratelimit.exceeded' },
      headers: { 'retry-after': '3', 'content-type': 'application/json' },
    });
    expect(error).toBeInstanceOf(HesThrottledError);
    expect(error).toMatchObject({
      code: 'HES_ERR_THROTTLED',
      category: 'throttled',
      status: 429,
      retryAfterMs: 3000,
    });
    expect(error.headers).toMatchObject({ 'retry-after': '3' });
  });

  it('429 with an HTTP-date Retry-After → the time until then', async () => {
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 5_000);
    const error = await failingCall({
      statusCode: 429,
      data: '',
      headers: { 'retry-after': at.toUTCString() },
    });
    expect(error).toBeInstanceOf(HesThrottledError);
    expect(error.retryAfterMs).toBeGreaterThan(3_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(6_000);
  });

  it('429 without Retry-After → retryAfterMs null', async () => {
    const error = await failingCall({ statusCode: 429, data: '' });
    expect(error).toBeInstanceOf(HesThrottledError);
    expect(error.retryAfterMs).toBeNull();
  });

  it('HTML 503 → HesServerError with a short excerpt', async () => {
    const page = `<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n${'<!-- padding -->\r\n'.repeat(40)}</body>\r\n</html>\r\n`;
    const error = await failingCall({
      statusCode: 503,
      data: page,
      headers: { 'content-type': 'text/html' },
    });
    expect(error).toBeInstanceOf(HesServerError);
    expect(error).toMatchObject({ code: 'HES_ERR_SERVER', category: 'transient', status: 503 });
    expect(error.bodyExcerpt).toMatch(/^<html> <head><title>503 Service Temporarily Unavailable<\/title>/);
    expect(error.bodyExcerpt?.length).toBeLessThanOrEqual(200);
    expect(error.bodyExcerpt?.endsWith('…')).toBe(true);
  });

  it.each([[500], [502], [504]])('%d → HesServerError', async (status) => {
    const error = await failingCall(json({ title: 'Internal Server Error', status }, status));
    expect(error).toMatchObject({ code: 'HES_ERR_SERVER', category: 'transient', status });
  });

  it('408 → HesTimeoutError', async () => {
    const error = await failingCall({ statusCode: 408, data: '' });
    expect(error).toMatchObject({ code: 'HES_ERR_TIMEOUT', category: 'transient', status: 408 });
  });

  it.each([
    ['200 with an HTML page', { statusCode: 200, data: '<html><body>Maintenance</body></html>' }],
    ['200 with an empty body', { statusCode: 200, data: '' }],
    ['200 with JSON null', { statusCode: 200, data: 'null' }],
    ['200 with a JSON array', json([wireResult()])],
    ['200 without current_health_status', json({ expiration_date: '2070-12-30T13' })],
    ['200 with an unknown health status', json(wireResult({ current_health_status: 'UNKNOWN' }))],
    ['404', json({ title: 'Not Found' }, 404)],
    ['405', json({ title: 'Method Not Allowed' }, 405)],
    ['302', { statusCode: 302, data: '', headers: { location: 'https://example.org/login' } }],
    ['413', { statusCode: 413, data: '' }],
  ])('%s → HesProtocolError', async (_label, answer) => {
    const error = await failingCall(answer);
    expect(error).toBeInstanceOf(HesProtocolError);
    expect(error).toMatchObject({
      code: 'HES_ERR_PROTOCOL',
      category: 'protocol',
      status: answer.statusCode,
    });
  });

  it('names the unexpected health status, redacted', async () => {
    const error = await failingCall(json(wireResult({ current_health_status: 'PENDING' })));
    expect(error.message).toBe(
      'check-hes-code: unusable HTTP 200 answer: unexpected current_health_status "PENDING"',
    );
  });
});

describe('network failures reported by the dispatcher', () => {
  const withError = async (error: Error) => {
    const ministry = mockMinistry();
    ministry.agent
      .get('https://hesservis.turkiye.gov.tr')
      .intercept({ path: /check-hes-code$/, method: 'POST' })
      .replyWithError(error);
    return rejectionOf(ministry.client().checkHesCode(CODE));
  };

  it.each([
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['ENOTFOUND', Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })],
    ['socket closed', new errors.SocketError('other side closed')],
    ['an error without a code', new Error('boom')],
  ])('%s → HesConnectionError', async (_label, cause) => {
    const error = await withError(cause);
    expect(error).toMatchObject({
      code: 'HES_ERR_CONNECTION',
      category: 'transient',
      endpoint: 'check-hes-code',
    });
    expect(error.cause).toBe(cause);
  });

  it.each([
    ['headers', new errors.HeadersTimeoutError()],
    ['body', new errors.BodyTimeoutError()],
    ['connect', new errors.ConnectTimeoutError()],
  ])('%s timeout → HesTimeoutError', async (_label, cause) => {
    const error = await withError(cause);
    expect(error).toMatchObject({ code: 'HES_ERR_TIMEOUT', category: 'transient' });
    expect(error.cause).toBe(cause);
  });
});

describe('wire quirks through the client', () => {
  it.each([
    ['2070-12-30T13', '2070-12-30T13:00:00.000Z'],
    ['2070-12-30T13:05', '2070-12-30T13:05:00.000Z'],
    ['2070-12-30T13:05:07', '2070-12-30T13:05:07.000Z'],
    ['2021-08-09T11:51:30.597Z', '2021-08-09T11:51:30.597Z'],
    ['2070-12-30T16:05:07+03:00', '2070-12-30T13:05:07.000Z'],
    ['2070-12-30', '2070-12-30T00:00:00.000Z'],
    [3187602000000, '2071-01-04T13:00:00.000Z'],
    [null, null],
    ['', null],
    ['31/12/2070', null],
  ])('expiration_date %j → %s', async (wire, iso) => {
    const ministry = mockMinistry();
    ministry.on('check-hes-code', () => json(wireResult({ expiration_date: wire })));
    const result = await ministry.client().checkHesCode(CODE);
    expect(result.expiresAt === null ? null : result.expiresAt.toISOString()).toBe(iso);
    expect(result.healthStatus).toBe('RISKLESS');
  });

  it('trims masked names and turns blanks into null', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-code', () =>
      json(
        wireResult({
          current_health_status: ' riskless ',
          masked_firstname: 'DE****   ',
          masked_lastname: 'YI**** ',
          masked_identity_number: '',
        }),
      ),
    );
    expect(await ministry.client().checkHesCode(CODE)).toEqual({
      healthStatus: 'RISKLESS',
      expiresAt: new Date('2070-12-30T13:00:00.000Z'),
      maskedIdentityNumber: null,
      maskedFirstName: 'DE****',
      maskedLastName: 'YI****',
    });
  });

  it('reads string booleans and "null" in plus answers', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-code-plus', () =>
      json(
        wirePlus({
          is_vaccinated: 'true',
          is_immune: ' False',
          is_test_data_shared: 'null',
          last_negative_test_date: 'null',
        }),
      ),
    );
    const result = await ministry.client().checkHesCodePlus(CODE);
    expect(result.plus).toEqual({
      vaccinated: true,
      immune: false,
      testDataShared: null,
      lastNegativeTestAt: null,
    });
  });
});

describe('bad arguments never reach the wire', () => {
  it.each([['A1B2C3D4E'], ['A1B2.C3D4.E5'], [''], [undefined as unknown as string]])(
    'checkHesCode(%j) → HesInvalidArgumentError',
    async (code) => {
      const ministry = mockMinistry();
      const error = await rejectionOf(ministry.client().checkHesCode(code));
      expect(error).toBeInstanceOf(HesInvalidArgumentError);
      expect(error).toMatchObject({ code: 'HES_ERR_INVALID_ARGUMENT', category: 'invalid_argument' });
      expect(ministry.calls).toHaveLength(0);
    },
  );

  it.each([
    [{ city: '', district: 'Konak', address: 'Kordon' }, 'visit.city must be a non-empty string'],
    [{ city: 'İzmir', district: '  ', address: 'Kordon' }, 'visit.district must be a non-empty string'],
    [{ city: 'İzmir', district: 'Konak' }, 'visit.address must be a non-empty string'],
    [
      { city: 'İzmir', district: 'Konak', address: 'K', latitude: 91 },
      'visit.latitude must be a number between -90 and 90',
    ],
    [
      { city: 'İzmir', district: 'Konak', address: 'K', longitude: Number.NaN },
      'visit.longitude must be a number between -180 and 180',
    ],
    [null, 'visit location is required'],
  ])('checkVisitorHesCode with %j → %s', async (visit, message) => {
    const ministry = mockMinistry();
    const error = await rejectionOf(
      ministry.client().checkVisitorHesCode(CODE, visit as unknown as Parameters<typeof Object>[0]),
    );
    expect(error).toBeInstanceOf(HesInvalidArgumentError);
    expect(error.message).toBe(message);
    expect(ministry.calls).toHaveLength(0);
  });
});

describe('privacy: errors never carry a full HES code', () => {
  const echo = `<html><body>Code ${CODE} / a1b2-c3d4-e5 rejected</body></html>`;
  it.each([
    ['400 business', json(problem('hescodenotfound'), 400)],
    ['400 with the code as errorKey', json({ errorKey: CODE, params: [CODE] }, 400)],
    ['400 HTML', { statusCode: 400, data: echo }],
    ['401', { statusCode: 401, data: echo, headers: { 'www-authenticate': `Basic realm="${CODE}"` } }],
    ['429', { statusCode: 429, data: echo, headers: { 'retry-after': '1' } }],
    ['503 HTML', { statusCode: 503, data: echo }],
    ['200 HTML', { statusCode: 200, data: echo }],
    ['200 odd status', json(wireResult({ current_health_status: CODE }))],
    ['404', { statusCode: 404, data: echo, headers: { 'x-request': CODE } }],
  ])('%s', async (_label, answer) => {
    const error = await failingCall(answer);
    expect(isHesError(error)).toBe(true);
    const everything = [
      error.message,
      String(error.stack),
      error.bodyExcerpt,
      inspect(error, { depth: 10 }),
    ].join('\n');
    expect(everything).not.toContain(CODE);
    expect(everything.toUpperCase()).not.toContain(CODE);
    expect(everything).not.toContain('A1B2-C3D4-E5'.toLowerCase());
    expect(JSON.stringify(error.headers ?? {})).not.toContain(CODE);
  });

  it('an invalid argument does not echo the code', async () => {
    const ministry = mockMinistry();
    const error = await rejectionOf(ministry.client().checkHesCodes(['A1B2C3D4E5', 'X9Y8Z7W6V5!']));
    expect(error.message).toBe(
      'invalid HES code at index 1: HES code may contain only letters A-Z, digits, spaces and dashes',
    );
  });
});

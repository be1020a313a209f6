import { describe, expect, it } from 'vitest';
import {
  HesInvalidArgumentError,
  HesProtocolError,
  HesThrottledError,
  MAX_BULK_CODES,
} from '../src/index.js';
import { codesFrom, json, mockMinistry, rejectionOf, wirePlus, wireResult } from './support.js';

type Body = { hes_code: string }[];
const sent = (body: unknown): string[] => (body as Body).map((item) => item.hes_code);

const RESULT = {
  healthStatus: 'RISKLESS',
  expiresAt: new Date('2070-12-30T13:00:00.000Z'),
  maskedIdentityNumber: '********792',
  maskedFirstName: 'DE****',
  maskedLastName: 'DE****',
};

describe('checkHesCodes', () => {
  it('gives one entry per input code, in input order: success, unsuccess and missing', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', () =>
      json({
        success_map: {
          // Keys come back in another case and with dashes.
          'a1b2-c3d4-e5': wireResult(),
          R1R2R3R4R5: wireResult({ current_health_status: 'RISKY' }),
          // A key nobody asked for is ignored.
          Z9Z9Z9Z9Z9: wireResult(),
        },
        unsuccess_map: {
          N1N2N3N4N5: 'hescodenotfound',
          'e1e2-e3e4-e5': 'hescodehasbeenexpired',
          U1U2U3U4U5: 'somethingnew',
          O1O2O3O4O5: { errorKey: 'HESCODENOTFOUND' },
          B1B2B3B4B5: 42,
        },
      }),
    );
    const entries = await ministry
      .client()
      .checkHesCodes([
        'N1N2N3N4N5',
        'A1B2-C3D4-E5',
        'M1M2M3M4M5',
        'E1E2E3E4E5',
        'r1r2r3r4r5',
        'U1U2U3U4U5',
        'O1O2O3O4O5',
        'B1B2B3B4B5',
      ]);
    expect(entries).toEqual([
      { code: 'N1N2N3N4N5', ok: false, reason: 'NOT_FOUND', errorKey: 'hescodenotfound' },
      { code: 'A1B2C3D4E5', ok: true, result: RESULT },
      { code: 'M1M2M3M4M5', ok: false, reason: 'MISSING', errorKey: null },
      { code: 'E1E2E3E4E5', ok: false, reason: 'EXPIRED', errorKey: 'hescodehasbeenexpired' },
      { code: 'R1R2R3R4R5', ok: true, result: { ...RESULT, healthStatus: 'RISKY' } },
      { code: 'U1U2U3U4U5', ok: false, reason: 'UNKNOWN', errorKey: 'somethingnew' },
      { code: 'O1O2O3O4O5', ok: false, reason: 'NOT_FOUND', errorKey: 'HESCODENOTFOUND' },
      { code: 'B1B2B3B4B5', ok: false, reason: 'UNKNOWN', errorKey: null },
    ]);
    expect(sent(ministry.calls[0]?.body)).toEqual([
      'N1N2N3N4N5',
      'A1B2C3D4E5',
      'M1M2M3M4M5',
      'E1E2E3E4E5',
      'R1R2R3R4R5',
      'U1U2U3U4U5',
      'O1O2O3O4O5',
      'B1B2B3B4B5',
    ]);
  });

  it('sends a repeated code once but answers every input position', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', () => json({ success_map: { A1B2C3D4E5: wireResult() } }));
    const entries = await ministry.client().checkHesCodes(['A1B2C3D4E5', 'Q1W2E3R4T5', 'a1b2-c3d4-e5']);
    expect(sent(ministry.calls[0]?.body)).toEqual(['A1B2C3D4E5', 'Q1W2E3R4T5']);
    expect(entries.map((entry) => [entry.code, entry.ok])).toEqual([
      ['A1B2C3D4E5', true],
      ['Q1W2E3R4T5', false],
      ['A1B2C3D4E5', true],
    ]);
    expect(entries[1]).toEqual({ code: 'Q1W2E3R4T5', ok: false, reason: 'MISSING', errorKey: null });
  });

  it('a missing unsuccess_map is an empty one', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', () =>
      json({ success_map: { A1B2C3D4E5: wireResult() }, unsuccess_map: null }),
    );
    const entries = await ministry.client().checkHesCodes(['A1B2C3D4E5']);
    expect(entries).toEqual([{ code: 'A1B2C3D4E5', ok: true, result: RESULT }]);
  });

  it('plus entries carry the plus fields', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes-plus', () =>
      json({ success_map: { A1B2C3D4E5: wirePlus({ is_vaccinated: 'false' }) }, unsuccess_map: {} }),
    );
    const [entry] = await ministry.client().checkHesCodesPlus(['A1B2C3D4E5']);
    expect(entry?.ok && entry.result.plus).toEqual({
      vaccinated: false,
      immune: false,
      testDataShared: null,
      lastNegativeTestAt: new Date('2021-08-09T11:51:30.597Z'),
    });
  });

  it('accepts exactly 500 distinct codes in one call', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', () => json({ success_map: {}, unsuccess_map: {} }));
    const codes = codesFrom('C', MAX_BULK_CODES);
    const entries = await ministry.client().checkHesCodes([...codes, ...codes]);
    expect(MAX_BULK_CODES).toBe(500);
    expect(ministry.calls).toHaveLength(1);
    expect(sent(ministry.calls[0]?.body)).toEqual(codes);
    expect(entries).toHaveLength(1000);
  });

  it.each([
    ['checkHesCodes', 'check-hes-codes'],
    ['checkHesCodesPlus', 'check-hes-codes-plus'],
  ] as const)('%s rejects 501 codes without any request', async (method, _endpoint) => {
    const ministry = mockMinistry();
    const error = await rejectionOf(ministry.client()[method](codesFrom('C', 501)));
    expect(error).toBeInstanceOf(HesInvalidArgumentError);
    expect(error.message).toBe(
      'at most 500 distinct HES codes per bulk call; got 501 (use checkManyHesCodes)',
    );
    expect(ministry.calls).toHaveLength(0);
  });

  it('rejects a malformed code without any request', async () => {
    const ministry = mockMinistry();
    const error = await rejectionOf(ministry.client().checkHesCodes(['A1B2C3D4E5', 'TOO-SHORT']));
    expect(error).toMatchObject({ code: 'HES_ERR_INVALID_ARGUMENT' });
    expect(error.message).toBe(
      'invalid HES code at index 1: HES code must have 10 letters and digits; found 8',
    );
    expect(ministry.calls).toHaveLength(0);
  });

  it('answers an empty list without a request', async () => {
    const ministry = mockMinistry();
    expect(await ministry.client().checkHesCodes([])).toEqual([]);
    expect(await ministry.client().checkManyHesCodes([])).toEqual([]);
    expect(ministry.calls).toHaveLength(0);
  });

  it.each([
    ['neither map', {}],
    ['success_map that is not an object', { success_map: [], unsuccess_map: {} }],
    ['an entry without a health status', { success_map: { A1B2C3D4E5: { masked_firstname: 'DE****' } } }],
  ])('an answer with %s → HesProtocolError', async (_label, data) => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', () => json(data));
    const error = await rejectionOf(ministry.client().checkHesCodes(['A1B2C3D4E5']));
    expect(error).toBeInstanceOf(HesProtocolError);
    expect(error.status).toBe(200);
  });

  it('a 400 on a bulk call is our request being wrong, not a business answer', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', () =>
      json({ errorKey: 'hescodes.limit.exceeded', title: 'Bad Request', status: 400 }, 400),
    );
    const error = await rejectionOf(ministry.client().checkHesCodes(['A1B2C3D4E5']));
    expect(error).toBeInstanceOf(HesProtocolError);
    expect(error.message).toBe(
      'check-hes-codes: HTTP 400, the request was rejected (hescodes.limit.exceeded)',
    );
  });

  it('a 429 on a bulk call is throttling', async () => {
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', () => ({ statusCode: 429, data: '', headers: { 'retry-after': '2' } }));
    const error = await rejectionOf(ministry.client().checkHesCodes(['A1B2C3D4E5']));
    expect(error).toBeInstanceOf(HesThrottledError);
    expect(error.retryAfterMs).toBe(2000);
  });
});

/** Answers like the sandbox: first letter S → success, N → not found, X → expired, M → not mentioned. */
function answerByFirstLetter(body: unknown) {
  const success: Record<string, unknown> = {};
  const unsuccess: Record<string, string> = {};
  for (const code of sent(body)) {
    if (code.startsWith('S')) success[code.toLowerCase()] = wireResult();
    if (code.startsWith('N')) unsuccess[code] = 'hescodenotfound';
    if (code.startsWith('X')) unsuccess[code] = 'hescodehasbeenexpired';
  }
  return json({ success_map: success, unsuccess_map: unsuccess });
}

describe('checkManyHesCodes', () => {
  it('splits 1 234 codes into calls of 500, 500 and 234 and merges the entries in input order', async () => {
    const prefixes = ['S', 'N', 'X', 'M'];
    // Interleave the four kinds so that every call holds all of them.
    const codes = Array.from({ length: 1234 }, (_, i) => codesFrom(prefixes[i % 4]!, i + 1)[i]!);
    expect(new Set(codes).size).toBe(1234);
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', answerByFirstLetter, { times: 3 });
    const entries = await ministry.client().checkManyHesCodes(codes);

    expect(ministry.calls.map((call) => (call.body as Body).length)).toEqual([500, 500, 234]);
    expect(ministry.calls.flatMap((call) => sent(call.body))).toEqual(codes);
    expect(entries).toHaveLength(1234);
    expect(entries.map((entry) => entry.code)).toEqual(codes);
    entries.forEach((entry, i) => {
      const kind = prefixes[i % 4];
      if (kind === 'S') expect(entry).toEqual({ code: codes[i], ok: true, result: RESULT });
      if (kind === 'N')
        expect(entry).toEqual({
          code: codes[i],
          ok: false,
          reason: 'NOT_FOUND',
          errorKey: 'hescodenotfound',
        });
      if (kind === 'X') {
        expect(entry).toEqual({
          code: codes[i],
          ok: false,
          reason: 'EXPIRED',
          errorKey: 'hescodehasbeenexpired',
        });
      }
      if (kind === 'M')
        expect(entry).toEqual({ code: codes[i], ok: false, reason: 'MISSING', errorKey: null });
    });
    ministry.agent.assertNoPendingInterceptors();
  });

  it('uses check-hes-codes-plus with plus: true and sends a repeated code once', async () => {
    const codes = codesFrom('S', 600);
    const ministry = mockMinistry();
    ministry.on(
      'check-hes-codes-plus',
      (body) => json({ success_map: Object.fromEntries(sent(body).map((code) => [code, wirePlus()])) }),
      { times: 2 },
    );
    const entries = await ministry
      .client()
      .checkManyHesCodes([...codes, codes[0]!, codes[599]!], { plus: true });
    expect(ministry.calls.map((call) => (call.body as Body).length)).toEqual([500, 100]);
    expect(entries).toHaveLength(602);
    expect(entries.every((entry) => entry.ok && entry.result.plus.vaccinated === true)).toBe(true);
    expect(entries[600]?.code).toBe(codes[0]);
    expect(entries[601]?.code).toBe(codes[599]);
  });

  it('gives the same entries whatever the concurrency', async () => {
    const codes = Array.from({ length: 1100 }, (_, i) => codesFrom(i % 2 ? 'S' : 'N', i + 1)[i]!);
    const ministry = mockMinistry();
    ministry.on('check-hes-codes', answerByFirstLetter, { times: 3 });
    const entries = await ministry.client().checkManyHesCodes(codes, { concurrency: 3 });
    expect(ministry.calls.map((call) => (call.body as Body).length).sort()).toEqual([100, 500, 500]);
    expect(entries.map((entry) => [entry.code, entry.ok])).toEqual(
      codes.map((code, i) => [code, i % 2 === 1]),
    );
  });

  it('stops at the first failed call and throws its error', async () => {
    const ministry = mockMinistry();
    let call = 0;
    ministry.on(
      'check-hes-codes',
      (body) =>
        ++call === 2
          ? { statusCode: 429, data: '', headers: { 'retry-after': '4' } }
          : answerByFirstLetter(body),
      { times: 3 },
    );
    const error = await rejectionOf(ministry.client().checkManyHesCodes(codesFrom('S', 1234)));
    expect(error).toBeInstanceOf(HesThrottledError);
    expect(error.retryAfterMs).toBe(4000);
    // Sequential by default: the third call is never made.
    expect(ministry.calls).toHaveLength(2);
  });

  it.each([[0], [-1], [1.5]])('rejects concurrency %d', async (concurrency) => {
    const ministry = mockMinistry();
    const error = await rejectionOf(ministry.client().checkManyHesCodes(['A1B2C3D4E5'], { concurrency }));
    expect(error).toBeInstanceOf(HesInvalidArgumentError);
    expect(ministry.calls).toHaveLength(0);
  });

  it('rejects a malformed code anywhere in the input before any call', async () => {
    const ministry = mockMinistry();
    const codes = [...codesFrom('S', 700), 'not a code!'];
    const error = await rejectionOf(ministry.client().checkManyHesCodes(codes));
    expect(error).toBeInstanceOf(HesInvalidArgumentError);
    expect(error.message).toContain('index 700');
    expect(ministry.calls).toHaveLength(0);
  });
});

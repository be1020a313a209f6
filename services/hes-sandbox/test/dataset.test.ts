import { describe, expect, it } from 'vitest';
import {
  generateSandboxCodes,
  SANDBOX_FIRST_NAMES,
  SANDBOX_LAST_NAMES,
  type SandboxOutcome,
  type SandboxPlusResult,
  sandboxBulkResponseFor,
  sandboxDateFormatFor,
  sandboxExpirationFor,
  sandboxIdentityLast3,
  sandboxOutcomeFor,
  sandboxPlusProfileFor,
  sandboxResponseFor,
  sandboxResultFor,
} from '../src/dataset.js';
import { maskHesCode, normaliseHesCode } from '../src/hes-code.js';

const OUTCOMES: SandboxOutcome[] = ['RISKLESS', 'RISKY', 'NOT_FOUND', 'EXPIRED'];
const PLUS_FIELDS = ['is_vaccinated', 'is_immune', 'is_test_data_shared'] as const;

/** What a lenient client makes of a wire boolean. */
const asBoolean = (v: unknown): boolean | null =>
  v === true || v === 'true' ? true : v === false || v === 'false' ? false : null;
/** Dates are UTC+0; zone-less and hour-only forms name the same instant. */
const asInstant = (s: string): number =>
  Date.parse(s.length === 13 ? `${s}:00:00Z` : s.endsWith('Z') ? s : `${s}Z`);

describe('normalisation and masking', () => {
  it('normalises dashes and case, and rejects anything but 10 × [A-Z0-9]', () => {
    expect(normaliseHesCode('a1b2-c3d4-e5')).toBe('A1B2C3D4E5');
    expect(normaliseHesCode('A1B2C3D4E5')).toBe('A1B2C3D4E5');
    for (const bad of [
      '',
      'A1B2C3D4E',
      'A1B2C3D4E5F',
      'A1B2 C3D4E5',
      'A1B2C3D4É5',
      ' A1B2C3D4E5',
      'A1B2C3D4E_',
    ]) {
      expect(normaliseHesCode(bad), bad).toBeNull();
    }
  });

  it('masks codes as first 2 + ****** + last 2', () => {
    expect(maskHesCode('A1B2-C3D4-E5')).toBe('A1******E5');
    expect(maskHesCode('abc')).toBe('**********');
  });
});

describe('the outcome rule (first character)', () => {
  it('maps R → RISKY, N → NOT_FOUND, E → EXPIRED, everything else → RISKLESS', () => {
    expect(sandboxOutcomeFor('R000000000')).toBe('RISKY');
    expect(sandboxOutcomeFor('n000-0000-00')).toBe('NOT_FOUND');
    expect(sandboxOutcomeFor('E000000000')).toBe('EXPIRED');
    for (const first of 'ABCDFGHIJKLMOPQSTUVWXYZ0123456789')
      expect(sandboxOutcomeFor(`${first}000000000`)).toBe('RISKLESS');
    expect(sandboxOutcomeFor('R00')).toBe('NOT_FOUND'); // malformed codes are answered as unknown
  });

  it('gives results only for RISKLESS/RISKY and a business error otherwise', () => {
    expect(sandboxResultFor('A000000000')?.current_health_status).toBe('RISKLESS');
    expect(sandboxResultFor('R000000000')?.current_health_status).toBe('RISKY');
    expect(sandboxResultFor('N000000000')).toBeNull();
    expect(sandboxResultFor('E000000000')).toBeNull();
    expect(sandboxResultFor('bad')).toBeNull();
    expect(sandboxResponseFor('N000000000')).toMatchObject({
      status: 400,
      body: { errorKey: 'hescodenotfound' },
    });
    expect(sandboxResponseFor('E000000000')).toMatchObject({
      status: 400,
      body: { errorKey: 'hescodehasbeenexpired' },
    });
    expect(sandboxResponseFor('bad')).toMatchObject({ status: 400, body: { errorKey: 'hescodenotfound' } });
    expect(sandboxResponseFor('R000000000')).toMatchObject({
      status: 200,
      body: { current_health_status: 'RISKY' },
    });
  });

  it('answers the same for a code on every call', () => {
    expect(sandboxResultFor('K7P2-X9Q4-M1', { plus: true })).toEqual(
      sandboxResultFor('k7p2x9q4m1', { plus: true }),
    );
  });
});

describe('identity digits (characters 8–10)', () => {
  it('keeps digits and maps letters to charCodeAt % 10', () => {
    expect(sandboxIdentityLast3('A1B2C3D792')).toBe('792');
    expect(sandboxIdentityLast3('A1B2C3D4E5')).toBe('495'); // 'E' = 69
    expect(sandboxIdentityLast3('ABCDEFGHIJ')).toBe('234'); // H, I, J = 72, 73, 74
    expect(sandboxResultFor('A1B2C3D792')?.masked_identity_number).toBe('********792');
    expect(() => sandboxIdentityLast3('short')).toThrow(TypeError);
  });
});

describe('plus profiles (second character)', () => {
  it('V: vaccinated, immune, test data shared and a last negative test date', () => {
    for (const code of generateSandboxCodes('RISKLESS', 50, 1, { profile: 'VACCINATED' })) {
      expect(code[1]).toBe('V');
      const r = sandboxResultFor(code, { plus: true })!;
      expect(PLUS_FIELDS.map((f) => asBoolean(r[f]))).toEqual([true, true, true]);
      expect(Number.isNaN(asInstant(r.last_negative_test_date!))).toBe(false);
    }
  });

  it('U: all false and no last negative test date', () => {
    for (const code of generateSandboxCodes('RISKY', 50, 2, { profile: 'UNVACCINATED' })) {
      const r = sandboxResultFor(code, { plus: true })!;
      expect(PLUS_FIELDS.map((f) => asBoolean(r[f]))).toEqual([false, false, false]);
      expect([null, 'null']).toContain(r.last_negative_test_date);
    }
  });

  it('others: vaccinated, not immune, test data sharing unknown, no date', () => {
    for (const code of generateSandboxCodes('RISKLESS', 50, 3, { profile: 'MIXED' })) {
      expect(sandboxPlusProfileFor(code)).toBe('MIXED');
      const r = sandboxResultFor(code, { plus: true })!;
      expect(PLUS_FIELDS.map((f) => asBoolean(r[f]))).toEqual([true, false, null]);
      expect([null, 'null']).toContain(r.last_negative_test_date);
    }
  });

  it('plus results extend the plain result with the same person and dates', () => {
    const code = 'AV12345678';
    const { is_vaccinated, is_immune, is_test_data_shared, last_negative_test_date, ...base } =
      sandboxResultFor(code, {
        plus: true,
      })!;
    expect(base).toEqual(sandboxResultFor(code));
  });
});

describe('quirks, each for a good share of codes', () => {
  const sample = [...generateSandboxCodes('RISKLESS', 450, 7), ...generateSandboxCodes('RISKY', 150, 8)];
  const results = sample.map((code) => sandboxResultFor(code, { plus: true }) as SandboxPlusResult);
  const share = (predicate: (r: SandboxPlusResult) => boolean): number =>
    results.filter(predicate).length / results.length;

  it('emits all three expiration_date formats, all naming a whole-hour UTC instant', () => {
    expect(share((r) => /^\d{4}-\d{2}-\d{2}T\d{2}$/.test(r.expiration_date))).toBeGreaterThan(0.2);
    expect(share((r) => /^\d{4}-\d{2}-\d{2}T\d{2}:00:00$/.test(r.expiration_date))).toBeGreaterThan(0.2);
    expect(share((r) => /^\d{4}-\d{2}-\d{2}T\d{2}:00:00\.000Z$/.test(r.expiration_date))).toBeGreaterThan(
      0.2,
    );
    sample.forEach((code, i) => {
      expect(asInstant(results[i]!.expiration_date)).toBe(sandboxExpirationFor(code).getTime());
      expect(sandboxExpirationFor(code).getUTCFullYear()).toBe(2070);
    });
    expect(new Set(sample.map(sandboxDateFormatFor))).toEqual(new Set(['hour', 'seconds', 'iso']));
  });

  it('sends plus booleans as JSON booleans and as strings, and unknowns as null and "null"', () => {
    for (const field of PLUS_FIELDS) {
      expect(
        share((r) => typeof r[field] === 'boolean' || r[field] === null),
        field,
      ).toBeGreaterThan(0.3);
      expect(
        share((r) => typeof r[field] === 'string'),
        field,
      ).toBeGreaterThan(0.3);
    }
    expect(share((r) => r.is_vaccinated === 'true')).toBeGreaterThan(0.1);
    expect(share((r) => r.is_immune === 'false')).toBeGreaterThan(0.1);
    expect(share((r) => r.is_test_data_shared === 'null')).toBeGreaterThan(0.1);
    expect(share((r) => r.is_test_data_shared === null)).toBeGreaterThan(0.1);
    expect(share((r) => r.last_negative_test_date === 'null')).toBeGreaterThan(0.1);
    expect(share((r) => r.last_negative_test_date === null)).toBeGreaterThan(0.1);
  });

  it('pads some masked names with trailing spaces', () => {
    for (const field of ['masked_firstname', 'masked_lastname'] as const) {
      const padded = share((r) => r[field].endsWith(' '));
      expect(padded, field).toBeGreaterThan(0.1);
      expect(padded, field).toBeLessThan(0.5);
    }
  });

  it('masks names from the Turkish name lists (first two letters + ****)', () => {
    const firsts = new Set(SANDBOX_FIRST_NAMES.map((n) => `${Array.from(n).slice(0, 2).join('')}****`));
    const lasts = new Set(SANDBOX_LAST_NAMES.map((n) => `${Array.from(n).slice(0, 2).join('')}****`));
    for (const r of results) {
      expect(firsts.has(r.masked_firstname.trimEnd())).toBe(true);
      expect(lasts.has(r.masked_lastname.trimEnd())).toBe(true);
    }
    expect(new Set(results.map((r) => r.masked_firstname.trimEnd())).size).toBeGreaterThan(10);
  });
});

describe('generateSandboxCodes', () => {
  it('produces distinct valid codes of the requested outcome, reproducibly per seed', () => {
    for (const outcome of OUTCOMES) {
      const codes = generateSandboxCodes(outcome, 2000, 99);
      expect(new Set(codes).size).toBe(2000);
      for (const code of codes) {
        expect(code).toMatch(/^[A-Z0-9]{10}$/);
        expect(sandboxOutcomeFor(code)).toBe(outcome);
      }
      expect(generateSandboxCodes(outcome, 2000, 99)).toEqual(codes);
      expect(generateSandboxCodes(outcome, 20, 100)).not.toEqual(codes.slice(0, 20));
    }
  });

  it('pins the plus profile when asked', () => {
    for (const profile of ['VACCINATED', 'UNVACCINATED', 'MIXED'] as const) {
      for (const code of generateSandboxCodes('RISKY', 100, 5, { profile }))
        expect(sandboxPlusProfileFor(code)).toBe(profile);
    }
  });

  it('handles zero and rejects a bad count', () => {
    expect(generateSandboxCodes('RISKY', 0)).toEqual([]);
    expect(() => generateSandboxCodes('RISKY', -1)).toThrow(RangeError);
    expect(() => generateSandboxCodes('RISKY', 1.5)).toThrow(RangeError);
  });
});

describe('sandboxBulkResponseFor', () => {
  it('builds the bulk maps, keyed by normalised code or, for malformed codes, by what was sent', () => {
    const body = sandboxBulkResponseFor(['a000-0000-01', 'N000000000', 'E000000000', 'xx'], { plus: true });
    expect(Object.keys(body.success_map)).toEqual(['A000000001']);
    expect(body.success_map.A000000001).toEqual(sandboxResultFor('A000000001', { plus: true }));
    expect(body.unsuccess_map).toEqual({
      N000000000: 'hescodenotfound',
      E000000000: 'hescodehasbeenexpired',
      xx: 'hescodenotfound',
    });
  });
});

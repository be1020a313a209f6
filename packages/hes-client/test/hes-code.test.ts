import { describe, expect, it } from 'vitest';
import { isHesCode, maskHesCode, normalizeHesCode } from '../src/index.js';

describe('normalizeHesCode', () => {
  it.each([
    ['A1B2C3D4E5', 'A1B2C3D4E5'],
    ['a1b2-c3d4-e5', 'A1B2C3D4E5'],
    [' A1B2 C3D4 E5 ', 'A1B2C3D4E5'],
    ['a1b2 - c3d4 - e5', 'A1B2C3D4E5'],
    ['\tA1B2C3D4E5\n', 'A1B2C3D4E5'],
    ['ABCDEFGHIJ', 'ABCDEFGHIJ'],
    ['0123456789', '0123456789'],
  ])('typed form %j → %s', (input, code) => {
    expect(normalizeHesCode(input)).toEqual({ ok: true, code });
  });

  it.each([
    ['https://hes.saglik.gov.tr/qr?code=A1B2C3D4E5', 'A1B2C3D4E5'],
    ['https://hes.saglik.gov.tr/qr?code=a1b2-c3d4-e5&lang=tr', 'A1B2C3D4E5'],
    ['HES:A1B2-C3D4-E5', 'A1B2C3D4E5'],
    ['HES KODU: a1b2c3d4e5', 'A1B2C3D4E5'],
    ['12345678901|A1B2C3D4E5', 'A1B2C3D4E5'],
    ['ID=XYZ;HES=ZZA1B2C3D4E5', 'A1B2C3D4E5'],
  ])('scan text %j → %s', (input, code) => {
    expect(normalizeHesCode(input)).toEqual({ ok: true, code });
  });

  it('takes the last ten when typed text carries a prefix', () => {
    expect(normalizeHesCode('HES A1B2-C3D4-E5')).toEqual({ ok: true, code: 'A1B2C3D4E5' });
  });

  it.each([
    ['', 'EMPTY'],
    ['   ', 'EMPTY'],
    [' - - ', 'EMPTY'],
    ['A1B2-C3D4', 'TOO_SHORT'],
    ['A1B2C3D4E', 'TOO_SHORT'],
    ['https://hes.example/qr?code=A1B2', 'TOO_SHORT'],
    // Pieces are never glued together: a code split by a separator is not a code.
    ['HES:A1B2:C3D4E5', 'TOO_SHORT'],
    ['A1B2.C3D4.E5', 'INVALID_CHARACTERS'],
    ['A1B2_C3D4_E5', 'INVALID_CHARACTERS'],
    ['A1B2C3D4E5!', 'INVALID_CHARACTERS'],
    ['Ç1B2C3D4E5', 'INVALID_CHARACTERS'],
    ['A1B2C3D4E5,', 'INVALID_CHARACTERS'],
  ])('rejects %j with %s', (input, reason) => {
    const result = normalizeHesCode(input);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it.each([[undefined], [null], [1234567890], [{ code: 'A1B2C3D4E5' }], [['A1B2C3D4E5']]])(
    'rejects the non-string %j',
    (input) => {
      expect(normalizeHesCode(input)).toMatchObject({ ok: false, reason: 'NOT_A_STRING' });
    },
  );

  it('never repeats the input in its message', () => {
    for (const input of ['A1B2C3D4E!', 'A1B2C3D4E', 'X9Y8Z7W6V5.', 'https://x/?c=Q1W2E3R4']) {
      const result = normalizeHesCode(input);
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.message).not.toContain(input);
      expect(result.message).not.toMatch(/[A-Z0-9]{6,}/);
    }
  });

  it('reports how many letters and digits a short code has', () => {
    expect(normalizeHesCode('A1B2-C3D4')).toEqual({
      ok: false,
      reason: 'TOO_SHORT',
      message: 'HES code must have 10 letters and digits; found 8',
    });
  });
});

describe('isHesCode', () => {
  it.each([
    ['A1B2C3D4E5', true],
    ['0000000000', true],
    ['a1b2c3d4e5', false],
    ['A1B2-C3D4-E5', false],
    ['A1B2C3D4E', false],
    ['A1B2C3D4E56', false],
    ['', false],
  ])('%j → %s', (input, expected) => {
    expect(isHesCode(input)).toBe(expected);
  });
});

describe('maskHesCode', () => {
  it.each([
    ['A1B2C3D4E5', 'A1******E5'],
    ['a1b2-c3d4-e5', 'A1******E5'],
    ['A1B2C3D4E5F6', 'A1********F6'],
    ['A1B2C3D4', 'A1****D4'],
    ['A1B2C3D', 'A*****D'],
    ['A1B2', 'A**2'],
    ['A1B', '***'],
    ['', ''],
  ])('%j → %j', (input, masked) => {
    expect(maskHesCode(input)).toBe(masked);
  });

  it('never shows more than four characters', () => {
    for (let n = 0; n <= 40; n++) {
      const input = 'X'.repeat(n);
      const shown = maskHesCode(input).replaceAll('*', '').length;
      expect(shown).toBeLessThanOrEqual(Math.min(4, Math.floor(n / 2)));
    }
  });
});

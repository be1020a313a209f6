import { describe, expect, it } from 'vitest';
import { parseHesDate } from '../src/index.js';
import {
  businessReasonOf,
  parseCheckResult,
  parseHealthStatus,
  parseMasked,
  parsePlusResult,
  parseWireBoolean,
  ShapeError,
} from '../src/parse.js';

describe('parseHesDate', () => {
  it.each([
    ['2070-12-30T13', '2070-12-30T13:00:00.000Z'],
    ['2070-12-30T13:05', '2070-12-30T13:05:00.000Z'],
    ['2070-12-30T13:05:07', '2070-12-30T13:05:07.000Z'],
    ['2070-12-30T13:05:07.5', '2070-12-30T13:05:07.500Z'],
    ['2070-12-30T13:05:07.123456', '2070-12-30T13:05:07.123Z'],
    ['2021-08-09T11:51:30.597Z', '2021-08-09T11:51:30.597Z'],
    ['2021-08-09T11:51:30.597z', '2021-08-09T11:51:30.597Z'],
    ['2070-12-30T13Z', '2070-12-30T13:00:00.000Z'],
    ['2070-12-30T13:05:07+03:00', '2070-12-30T10:05:07.000Z'],
    ['2070-12-30T13:05:07+0300', '2070-12-30T10:05:07.000Z'],
    ['2070-12-30T01:05:07-02', '2070-12-30T03:05:07.000Z'],
    ['2070-12-31T23:30+03:00', '2070-12-31T20:30:00.000Z'],
    ['2070-01-01T01:00+03:00', '2069-12-31T22:00:00.000Z'],
    ['2070-12-30 13:05:07', '2070-12-30T13:05:07.000Z'],
    ['2070-12-30', '2070-12-30T00:00:00.000Z'],
    ['  2070-12-30T13  ', '2070-12-30T13:00:00.000Z'],
    ['2024-02-29T00', '2024-02-29T00:00:00.000Z'],
    [3187602000000, '2071-01-04T13:00:00.000Z'],
    [0, '1970-01-01T00:00:00.000Z'],
  ])('%j → %s', (input, iso) => {
    expect(parseHesDate(input)?.toISOString()).toBe(iso);
  });

  it.each([
    [null],
    [undefined],
    [''],
    ['null'],
    ['not a date'],
    ['2070-13-01'],
    ['2070-02-30'],
    ['2023-02-29'],
    ['2070-12-30T24'],
    ['2070-12-30T13:60'],
    ['2070-12-30T13:05:61'],
    ['2070-12-30T13:05:07+25:00'],
    ['30.12.2070'],
    ['2070-12-30T1'],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [true],
    [{ date: '2070-12-30' }],
  ])('%j → null', (input) => {
    expect(parseHesDate(input)).toBeNull();
  });
});

describe('parseWireBoolean', () => {
  it.each([
    [true, true],
    [false, false],
    ['true', true],
    ['false', false],
    ['TRUE', true],
    [' False ', false],
    ['null', null],
    ['NULL', null],
    ['', null],
    [null, null],
    [undefined, null],
    ['yes', null],
    [1, null],
  ])('%j → %j', (input, expected) => {
    expect(parseWireBoolean(input)).toBe(expected);
  });
});

describe('parseMasked', () => {
  it.each([
    ['DE****', 'DE****'],
    ['DE****   ', 'DE****'],
    ['  ********792 ', '********792'],
    ['ŞE****  ', 'ŞE****'],
    ['', null],
    ['   ', null],
    [null, null],
    [undefined, null],
    [42, null],
  ])('%j → %j', (input, expected) => {
    expect(parseMasked(input)).toBe(expected);
  });
});

describe('parseHealthStatus', () => {
  it.each([
    ['RISKLESS', 'RISKLESS'],
    ['RISKY', 'RISKY'],
    ['riskless', 'RISKLESS'],
    [' Risky ', 'RISKY'],
  ])('%j → %s', (input, expected) => {
    expect(parseHealthStatus(input)).toBe(expected);
  });

  it.each([['UNKNOWN'], [''], [null], [undefined], [1], ['RISK LESS']])('%j is a shape error', (input) => {
    expect(() => parseHealthStatus(input)).toThrow(ShapeError);
  });
});

describe('parseCheckResult / parsePlusResult', () => {
  it('returns camelCase fields with real types', () => {
    expect(
      parseCheckResult({
        current_health_status: 'risky ',
        expiration_date: '2070-12-30T13',
        masked_identity_number: '********792',
        masked_firstname: 'DE****  ',
        masked_lastname: '',
      }),
    ).toEqual({
      healthStatus: 'RISKY',
      expiresAt: new Date('2070-12-30T13:00:00Z'),
      maskedIdentityNumber: '********792',
      maskedFirstName: 'DE****',
      maskedLastName: null,
    });
  });

  it('keeps a check whose date is unreadable, with expiresAt null', () => {
    expect(
      parseCheckResult({ current_health_status: 'RISKLESS', expiration_date: 'tomorrow' }),
    ).toMatchObject({ healthStatus: 'RISKLESS', expiresAt: null, maskedFirstName: null });
  });

  it('reads the plus fields in every wire form', () => {
    const result = parsePlusResult({
      current_health_status: 'RISKLESS',
      expiration_date: '2070-12-30T13:05:07',
      is_vaccinated: 'TRUE',
      is_immune: false,
      is_test_data_shared: 'null',
      last_negative_test_date: 'null',
    });
    expect(result.plus).toEqual({
      vaccinated: true,
      immune: false,
      testDataShared: null,
      lastNegativeTestAt: null,
    });
    expect(
      parsePlusResult({ current_health_status: 'RISKY', last_negative_test_date: '2021-08-09T11' }).plus,
    ).toEqual({
      vaccinated: null,
      immune: null,
      testDataShared: null,
      lastNegativeTestAt: new Date('2021-08-09T11:00:00Z'),
    });
  });

  it.each([[null], [[]], ['RISKLESS'], [{}]])('%j is a shape error', (input) => {
    expect(() => parseCheckResult(input)).toThrow(ShapeError);
  });
});

describe('businessReasonOf', () => {
  it.each([
    ['hescodenotfound', 'NOT_FOUND'],
    ['HesCodeNotFound', 'NOT_FOUND'],
    ['hescodehasbeenexpired', 'EXPIRED'],
    [' hescodehasbeenexpired ', 'EXPIRED'],
    ['validation.error', 'UNKNOWN'],
    [null, 'UNKNOWN'],
  ])('%j → %s', (input, expected) => {
    expect(businessReasonOf(input)).toBe(expected);
  });
});

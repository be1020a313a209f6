import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../src/index.js';

const NOW = Date.parse('2021-08-09T11:51:30.000Z');

describe('parseRetryAfter', () => {
  it.each([
    ['3', 3_000],
    [' 3 ', 3_000],
    ['0', 0],
    ['120', 120_000],
    ['1.5', 1_500],
    [['7', '9'], 7_000],
    ['Mon, 09 Aug 2021 11:51:35 GMT', 5_000],
    ['Monday, 09-Aug-21 11:52:30 GMT', 60_000],
    // A date in the past means "now".
    ['Mon, 09 Aug 2021 11:50:00 GMT', 0],
  ])('%j → %d ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it.each([[undefined], [''], ['  '], [[]], ['-1'], ['soon'], ['3 seconds'], ['1e3'], ['Mon, 99 Foo 2021']])(
    '%j → null',
    (value) => {
      expect(parseRetryAfter(value as string | string[] | undefined, NOW)).toBeNull();
    },
  );

  it('measures an HTTP-date from Date.now() by default', () => {
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const ms = parseRetryAfter(inTenSeconds);
    expect(ms).not.toBeNull();
    // toUTCString drops milliseconds, so up to one second less.
    expect(ms).toBeGreaterThan(8_000);
    expect(ms).toBeLessThanOrEqual(10_000);
  });
});

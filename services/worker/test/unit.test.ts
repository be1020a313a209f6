import {
  HesAbortedError,
  HesBusinessError,
  HesConnectionError,
  HesCredentialsError,
  HesInvalidArgumentError,
  HesProtocolError,
  HesServerError,
  HesThrottledError,
  HesTimeoutError,
} from '@hes/client';
import { CHECK_ERROR_CODES } from '@hes/core';
import { describe, expect, it } from 'vitest';
import { hesBackoffStrategy, retryDelayMs } from '../src/domain/backoff.js';
import { classifyUpstreamError, mapBusiness, mapSuccess } from '../src/domain/outcome-mapper.js';

describe('backoff (hes strategy)', () => {
  const policy = { baseMs: 1_000, maxMs: 30_000 };

  it('is exponential from the base and capped, with equal jitter in [cap/2, cap)', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => retryDelayMs(n, policy, top))).toEqual([
      999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999,
    ]);
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000,
    ]);
    expect(retryDelayMs(4, policy, () => 0.5)).toBe(6_000);
  });

  it('gives the default policy (15 attempts, 1 s base, 5 min cap) a budget of at least 16 minutes', () => {
    const defaults = { baseMs: 1_000, maxMs: 300_000 };
    const floor = Array.from({ length: 14 }, (_, i) => retryDelayMs(i + 1, defaults, () => 0)).reduce(
      (a, b) => a + b,
    );
    expect(floor).toBeGreaterThan(16 * 60_000);
  });

  it('is what the Worker calls for type hes, and refuses other types', () => {
    const strategy = hesBackoffStrategy(policy, () => 0.5);
    expect(strategy(2, 'hes')).toBe(1_500);
    expect(() => strategy(2, 'exponential-ish')).toThrow();
  });
});

describe('classifyUpstreamError: one place decides what a failure means', () => {
  it.each([
    [new HesBusinessError('NOT_FOUND', 'hescodenotfound'), { type: 'business', reason: 'NOT_FOUND' }],
    [new HesBusinessError('EXPIRED', 'hescodehasbeenexpired'), { type: 'business', reason: 'EXPIRED' }],
    [new HesBusinessError('UNKNOWN', 'somethingelse'), { type: 'business', reason: 'UNKNOWN' }],
    [new HesThrottledError('429', 2_000), { type: 'throttled', retryAfterMs: 2_000 }],
    [new HesThrottledError('429', null), { type: 'throttled', retryAfterMs: null }],
    [new HesServerError('503'), { type: 'transient', errorClass: 'HesServerError' }],
    [new HesTimeoutError('timeout'), { type: 'transient', errorClass: 'HesTimeoutError' }],
    [new HesConnectionError('reset'), { type: 'transient', errorClass: 'HesConnectionError' }],
    [new HesCredentialsError('401'), { type: 'credentials' }],
    [new HesProtocolError('bad json'), { type: 'protocol', errorClass: 'HesProtocolError' }],
    [new HesInvalidArgumentError('bad code'), { type: 'protocol' }],
    [new HesAbortedError('aborted'), { type: 'aborted' }],
    [new TypeError('a bug'), { type: 'transient', errorClass: 'TypeError' }],
  ])('%s', (error, expected) => {
    expect(classifyUpstreamError(error)).toMatchObject(expected);
  });

  it('retries an HTML page served with 200 (a proxy or maintenance page, not the Ministry)', () => {
    const html = new HesProtocolError('not json', {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
    });
    expect(classifyUpstreamError(html)).toEqual({ type: 'transient', errorClass: 'HesProtocolError' });
    const json = new HesProtocolError('bad shape', {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
    expect(classifyUpstreamError(json)).toEqual({ type: 'protocol', errorClass: 'HesProtocolError' });
  });
});

describe('outcome mapping', () => {
  const result = {
    healthStatus: 'RISKY' as const,
    expiresAt: new Date('2070-12-30T13:00:00Z'),
    maskedIdentityNumber: '********792',
    maskedFirstName: 'DE****',
    maskedLastName: 'DE****',
    plus: {
      vaccinated: true,
      immune: null,
      testDataShared: false,
      lastNegativeTestAt: new Date('2021-08-09T11:51:30.597Z'),
    },
  };

  it('maps a success with identity match and plus fields only for kind plus', () => {
    expect(mapSuccess({ id: 'a', kind: 'plus', identityLast3: '792' }, result)).toEqual({
      id: 'a',
      status: 'completed',
      outcome: 'RISKY',
      maskedIdentityNumber: '********792',
      maskedFirstName: 'DE****',
      maskedLastName: 'DE****',
      codeExpiresAt: result.expiresAt,
      identityMatch: true,
      plus: {
        vaccinated: true,
        immune: null,
        testDataShared: false,
        lastNegativeTestAt: '2021-08-09T11:51:30.597Z',
      },
    });
    expect(mapSuccess({ id: 'b', kind: 'standard', identityLast3: '111' }, result)).toMatchObject({
      identityMatch: false,
      plus: null,
    });
  });

  it('completes NOT_FOUND/EXPIRED, fails other business keys, and never echoes an odd key', () => {
    expect(mapBusiness('a', 'NOT_FOUND', 'hescodenotfound')).toEqual({
      id: 'a',
      status: 'completed',
      outcome: 'NOT_FOUND',
    });
    expect(mapBusiness('a', 'EXPIRED', null)).toMatchObject({ outcome: 'EXPIRED' });
    const other = mapBusiness('a', 'UNKNOWN', 'hescodeblocked');
    expect(other).toMatchObject({ status: 'failed', errorCode: CHECK_ERROR_CODES.unknownBusiness });
    expect(other.status === 'failed' && other.errorMessage).toContain('hescodeblocked');
    const odd = mapBusiness('a', 'UNKNOWN', 'A1B2C3D4E5');
    expect(odd.status === 'failed' && odd.errorMessage).not.toContain('A1B2C3D4E5');
  });
});

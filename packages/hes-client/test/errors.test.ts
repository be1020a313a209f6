import { describe, expect, it } from 'vitest';
import {
  HesAbortedError,
  HesBusinessError,
  HesConnectionError,
  HesCredentialsError,
  HesError,
  HesInvalidArgumentError,
  HesProtocolError,
  HesServerError,
  HesThrottledError,
  HesTimeoutError,
  isHesError,
  redactHesCodes,
} from '../src/index.js';

describe('error classes', () => {
  it.each([
    [
      new HesBusinessError('NOT_FOUND', 'hescodenotfound'),
      'HesBusinessError',
      'HES_ERR_BUSINESS',
      'business',
    ],
    [new HesThrottledError('429', 3000), 'HesThrottledError', 'HES_ERR_THROTTLED', 'throttled'],
    [new HesServerError('503'), 'HesServerError', 'HES_ERR_SERVER', 'transient'],
    [new HesTimeoutError('t'), 'HesTimeoutError', 'HES_ERR_TIMEOUT', 'transient'],
    [new HesConnectionError('c'), 'HesConnectionError', 'HES_ERR_CONNECTION', 'transient'],
    [new HesCredentialsError('401'), 'HesCredentialsError', 'HES_ERR_CREDENTIALS', 'credentials'],
    [new HesProtocolError('p'), 'HesProtocolError', 'HES_ERR_PROTOCOL', 'protocol'],
    [new HesAbortedError('a'), 'HesAbortedError', 'HES_ERR_ABORTED', 'aborted'],
    [
      new HesInvalidArgumentError('i'),
      'HesInvalidArgumentError',
      'HES_ERR_INVALID_ARGUMENT',
      'invalid_argument',
    ],
  ])('%s has a stable name, code and category', (error, name, code, category) => {
    expect(error).toBeInstanceOf(HesError);
    expect(error).toBeInstanceOf(Error);
    expect(isHesError(error)).toBe(true);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.category).toBe(category);
    expect(String(error.stack)).toContain(name);
  });

  it('carries status, headers, a redacted excerpt and the cause', () => {
    const cause = new Error('socket hang up');
    const error = new HesServerError('check-hes-code: HTTP 503', {
      endpoint: 'check-hes-code',
      status: 503,
      headers: { 'content-type': 'text/html', 'x-echo': ['A1B2C3D4E5', 'ok'] },
      body: `<html>\r\n<body>${'x'.repeat(300)}</body></html>`,
      cause,
    });
    expect(error.status).toBe(503);
    expect(error.endpoint).toBe('check-hes-code');
    expect(error.headers).toEqual({ 'content-type': 'text/html', 'x-echo': ['A1******E5', 'ok'] });
    expect(error.cause).toBe(cause);
    expect(error.bodyExcerpt).toHaveLength(200);
    expect(error.bodyExcerpt?.startsWith('<html> <body>xxx')).toBe(true);
    expect(error.bodyExcerpt?.endsWith('…')).toBe(true);
  });

  it('leaves out what it was not given', () => {
    const error = new HesTimeoutError('timed out');
    expect(error.status).toBeUndefined();
    expect(error.bodyExcerpt).toBeUndefined();
    expect(error.cause).toBeUndefined();
    expect(Object.keys(error)).not.toContain('status');
  });

  it('isHesError rejects everything else', () => {
    expect(isHesError(new Error('x'))).toBe(false);
    expect(isHesError({ code: 'HES_ERR_SERVER', category: 'transient' })).toBe(false);
    expect(isHesError(null)).toBe(false);
    expect(isHesError('HES_ERR_SERVER')).toBe(false);
  });

  it('a business error redacts an errorKey that could be a code', () => {
    const error = new HesBusinessError('UNKNOWN', 'Q1W2E3R4T5');
    expect(error.errorKey).toBe('Q1******T5');
    expect(error.message).not.toContain('Q1W2E3R4T5');
  });

  it('a code at the cut-off of a long body is not revealed', () => {
    const body = `${'.'.repeat(195)}A1B2C3D4E5 trailing`;
    const error = new HesProtocolError('p', { body });
    expect(error.bodyExcerpt).toHaveLength(200);
    expect(error.bodyExcerpt?.slice(195)).toBe('A1**…');
    expect(error.bodyExcerpt).not.toContain('A1B2');
  });
});

describe('redactHesCodes', () => {
  it.each([
    ['{"params":["A1B2C3D4E5"]}', '{"params":["A1******E5"]}'],
    ['code a1b2c3d4e5 here', 'code A1******E5 here'],
    ['printed A1B2-C3D4-E5.', 'printed A1******E5.'],
    ['ABCDEFGHIJ', 'AB******IJ'],
    ['longer XA1B2C3D4E5Y9', 'longer XA*********Y9'],
    ['503 Service Temporarily Unavailable', '503 Service Temporarily Unavailable'],
    ['errorKey hescodehasbeenexpired', 'errorKey hescodehasbeenexpired'],
    ['short A1B2C3D4E', 'short A1B2C3D4E'],
  ])('%j → %j', (input, expected) => {
    expect(redactHesCodes(input)).toBe(expected);
  });
});

// The leak scanner is what the privacy tests rely on: prove it finds what it must.
import { describe, expect, it } from 'vitest';
import { leakedCodes } from './support/stack.js';

describe('leakedCodes', () => {
  const codes = ['A1B2C3D4E5', 'ZZ99YY88XX'];
  it('finds a code plain, lower-case, dashed and buried in a longer token', () => {
    expect(leakedCodes(codes, ['{"hes":"A1B2C3D4E5"}'])).toEqual(['A1B2C3D4E5']);
    expect(leakedCodes(codes, ['msg a1b2c3d4e5 end'])).toEqual(['A1B2C3D4E5']);
    expect(leakedCodes(codes, ['code=ZZ99-YY88-XX'])).toEqual(['ZZ99YY88XX']);
    expect(leakedCodes(codes, ['https://x/?q=QQA1B2C3D4E5QQ'])).toEqual(['A1B2C3D4E5']);
  });
  it('does not flag masked forms', () => {
    expect(leakedCodes(codes, ['A1******E5', 'ZZ99YY88X', 'A1B2C3D4E'])).toEqual([]);
  });
});

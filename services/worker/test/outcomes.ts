import { generateSandboxCodes, sandboxIdentityLast3 } from '@hes/sandbox';
import { expect } from 'vitest';
import type { CheckRow } from './harness.js';

/** One sandbox code of each outcome, in this order: RISKLESS, RISKY, NOT_FOUND, EXPIRED. */
export function fourOutcomeCodes(seed: number): [string, string, string, string] {
  return [
    generateSandboxCodes('RISKLESS', 1, seed)[0]!,
    generateSandboxCodes('RISKY', 1, seed + 1)[0]!,
    generateSandboxCodes('NOT_FOUND', 1, seed + 2)[0]!,
    generateSandboxCodes('EXPIRED', 1, seed + 3)[0]!,
  ];
}

/** Last three digits that are not the sandbox person's. */
export function wrongLast3(code: string): string {
  return sandboxIdentityLast3(code) === '000' ? '111' : '000';
}

/** identityLast3 for checks of those codes: a match for the first, a mismatch for the second, none asked after. */
export const matchFirstMissSecond = (code: string, i: number): string | null =>
  i === 0 ? sandboxIdentityLast3(code) : i === 1 ? wrongLast3(code) : null;

/** The stored checks of the four codes (inserted with matchFirstMissSecond), in the same order. */
export function expectFourOutcomes(rows: readonly CheckRow[], riskless: string): void {
  const [sRiskless, sRisky, sNotFound, sExpired] = rows;
  expect(sRiskless).toMatchObject({
    status: 'completed',
    outcome: 'RISKLESS',
    identityMatch: true,
    attempts: 1,
  });
  expect(sRiskless!.maskedIdentityNumber).toMatch(new RegExp(`${sandboxIdentityLast3(riskless)}$`));
  expect(sRiskless!.maskedFirstName).toBeTruthy();
  expect(sRiskless!.codeExpiresAt).toBeInstanceOf(Date);
  expect(sRisky).toMatchObject({ status: 'completed', outcome: 'RISKY', identityMatch: false });
  expect(sNotFound).toMatchObject({ status: 'completed', outcome: 'NOT_FOUND', identityMatch: null });
  expect(sNotFound!.maskedIdentityNumber).toBeNull();
  expect(sExpired).toMatchObject({ status: 'completed', outcome: 'EXPIRED' });
}

import { maskHesCode, normalizeHesCode } from '@hes/client';

export type IntakeCode =
  | { ok: true; code: string; masked: string }
  /** `message` never repeats the input (@hes/client guarantees it). */
  | { ok: false; masked: string; reason: string; message: string };

/**
 * Normalises a submitted code (dashes, scanner prefixes: see @hes/client). A malformed input is never
 * kept: only a mask of its alphanumerics, in the same shape as a valid code's mask.
 */
export function intakeCode(input: string): IntakeCode {
  const result = normalizeHesCode(input);
  if (result.ok) return { ok: true, code: result.code, masked: maskHesCode(result.code) };
  return { ok: false, masked: maskMalformed(input), reason: result.reason, message: result.message };
}

const MAX_MASK = 16;

/** "ab-12-cd-34x" → "AB*****4X": first and last two alphanumerics only when there are at least six. */
export function maskMalformed(input: string): string {
  const alnum = input.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (alnum.length === 0) return '';
  const shown = Math.min(alnum.length, MAX_MASK);
  if (alnum.length < 6) return '*'.repeat(shown);
  return `${alnum.slice(0, 2)}${'*'.repeat(shown - 4)}${alnum.slice(-2)}`;
}

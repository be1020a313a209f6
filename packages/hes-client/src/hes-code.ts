/**
 * HES code handling on the client side. A HES code is ten characters of [A-Z0-9]; people print it as
 * `A1B2-C3D4-E5`, type it in lower case, or scan it from a QR code/barcode whose text carries more than
 * the code (a URL, a `HES:` prefix). The rule, also in the README:
 *
 * 1. Not a string → NOT_A_STRING. Blank, or nothing left once spaces and dashes are dropped → EMPTY.
 * 2. Typed form (only letters A–Z, digits, spaces and dashes): drop spaces and dashes, upper-case.
 * 3. Scan text (contains one of `: / = ? & # | ;`): split at every character that is not a letter,
 *    digit, space or dash, and keep the last piece with at least ten letters and digits. Gluing all
 *    pieces together (what some integrations do) would turn `?code=A1B2` into a "code"; none → TOO_SHORT.
 * 4. Any other character (`.`, `_`, `!`, `Ç`, …) without a scan marker → INVALID_CHARACTERS: a typo is
 *    reported, not guessed around.
 * 5. Fewer than ten letters and digits → TOO_SHORT; more than ten → the last ten (extra text before
 *    the code, as public integrations do for scans).
 *
 * Messages never repeat the input: it may be somebody's full code.
 */
export type NormalizeFailure = 'EMPTY' | 'TOO_SHORT' | 'INVALID_CHARACTERS' | 'NOT_A_STRING';

export type NormalizeResult =
  | { ok: true; code: string }
  | { ok: false; reason: NormalizeFailure; message: string };

export const HES_CODE_LENGTH = 10;

const HES_CODE = /^[A-Z0-9]{10}$/;
const TYPED_FORM = /^[A-Za-z0-9\s-]+$/;
const SCAN_MARKER = /[:/=?&#|;]/;
const SCAN_SEPARATOR = /[^A-Za-z0-9\s-]+/;
const SPACES_AND_DASHES = /[\s-]+/g;

const compact = (text: string): string => text.replace(SPACES_AND_DASHES, '').toUpperCase();

const failure = (reason: NormalizeFailure, message: string): NormalizeResult => ({
  ok: false,
  reason,
  message,
});

export function normalizeHesCode(input: unknown): NormalizeResult {
  if (typeof input !== 'string') return failure('NOT_A_STRING', 'HES code must be a string');
  const trimmed = input.trim();
  if (compact(trimmed) === '') return failure('EMPTY', 'HES code is empty');

  let candidate: string;
  if (TYPED_FORM.test(trimmed)) {
    candidate = compact(trimmed);
  } else if (SCAN_MARKER.test(trimmed)) {
    const pieces = trimmed.split(SCAN_SEPARATOR).map(compact);
    candidate =
      pieces.findLast((piece) => piece.length >= HES_CODE_LENGTH) ??
      pieces.reduce((longest, piece) => (piece.length > longest.length ? piece : longest), '');
  } else {
    return failure('INVALID_CHARACTERS', 'HES code may contain only letters A-Z, digits, spaces and dashes');
  }

  if (candidate.length < HES_CODE_LENGTH) {
    return failure(
      'TOO_SHORT',
      `HES code must have ${HES_CODE_LENGTH} letters and digits; found ${candidate.length}`,
    );
  }
  return { ok: true, code: candidate.slice(-HES_CODE_LENGTH) };
}

export function isHesCode(s: string): boolean {
  return typeof s === 'string' && HES_CODE.test(s);
}

/**
 * 'A1B2C3D4E5' → 'A1******E5'. Other lengths keep their length and show at most two characters at
 * each end, fewer for short strings, so a mask never shows more than four characters or half the input.
 */
export function maskHesCode(code: string): string {
  const chars = compact(String(code));
  const n = chars.length;
  const shown = n >= 8 ? 2 : n >= 4 ? 1 : 0;
  if (shown === 0) return '*'.repeat(n);
  return `${chars.slice(0, shown)}${'*'.repeat(n - 2 * shown)}${chars.slice(-shown)}`;
}

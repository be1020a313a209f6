import { maskHesCode } from './hes-code.js';

/** Letters and digits, possibly joined by single dashes: how a code appears in text (`A1B2-C3D4-E5`). */
const TOKEN = /[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*/g;

export const BODY_EXCERPT_MAX = 200;

/**
 * Masks everything in `text` that could be a HES code: any token of ten or more letters and digits
 * (dashes ignored) that is upper case or contains a digit. Upper-case words such as `UNAUTHORIZED` are
 * masked too; lower- and mixed-case words without digits (`Temporarily`, `Unavailable`) are kept so
 * error pages stay readable. The masked token keeps its length, so a later cut cannot reveal more.
 */
export function redactHesCodes(text: string): string {
  return text.replace(TOKEN, (token) => {
    const chars = token.replaceAll('-', '');
    if (chars.length < 10) return token;
    if (/[a-z]/.test(chars) && !/[0-9]/.test(chars)) return token;
    return maskHesCode(chars);
  });
}

/** A short, single-line, redacted view of a response body for an error (≤ 200 characters). */
export function bodyExcerpt(body: string): string {
  const line = redactHesCodes(body.replace(/\s+/g, ' ').trim());
  return line.length <= BODY_EXCERPT_MAX ? line : `${line.slice(0, BODY_EXCERPT_MAX - 1)}…`;
}

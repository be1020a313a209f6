/**
 * HES code handling on the server side. The sandbox is strict like a server: dashes are dropped and
 * letters upper-cased (codes are printed as `A1B2-C3D4-E5`), and what is left must be exactly ten
 * characters of [A-Z0-9]. Anything else is answered like an unknown code (`hescodenotfound`).
 */
const CODE_CHARS = /^[A-Za-z0-9]{10}$/;

export function normaliseHesCode(raw: string): string | null {
  const compact = raw.replaceAll('-', '');
  return CODE_CHARS.test(compact) ? compact.toUpperCase() : null;
}

/** The only form of a code that may reach a log line (SPEC §6): first 2 + `******` + last 2. */
export function maskHesCode(raw: string): string {
  const compact = raw.replaceAll('-', '').trim();
  if (compact.length < 6) return '**********';
  return `${compact.slice(0, 2)}******${compact.slice(-2)}`;
}

import { SANDBOX_FIRST_NAMES, SANDBOX_LAST_NAMES } from './dataset-names.js';
import { normaliseHesCode } from './hes-code.js';
import { fnv1a, mulberry32 } from './random.js';

export { SANDBOX_FIRST_NAMES, SANDBOX_LAST_NAMES };

/**
 * The sandbox's deterministic "population". Every answer is a pure function of the normalised code, so
 * tests and benchmarks can pick codes for each outcome and know the answer in advance:
 *
 * - 1st character: `R` → RISKY, `N` → not found, `E` → expired, anything else → RISKLESS.
 * - 2nd character (plus fields): `V` → vaccinated profile, `U` → unvaccinated profile, else mixed.
 * - characters 8–10: the last three digits of the masked identity number (a digit stays itself, a
 *   letter becomes `charCodeAt % 10`).
 *
 * The wire quirks the real Ministry has been seen to emit (SPEC §3) are chosen by a hash of the code,
 * so each shows up for a fixed share of codes and a client's leniency is exercised by ordinary data.
 */

export type SandboxOutcome = 'RISKLESS' | 'RISKY' | 'NOT_FOUND' | 'EXPIRED';
export type SandboxPlusProfile = 'VACCINATED' | 'UNVACCINATED' | 'MIXED';
export type SandboxDateFormat = 'hour' | 'seconds' | 'iso';
export type BusinessErrorKey = 'hescodenotfound' | 'hescodehasbeenexpired';
/** How a plus boolean travels: a JSON boolean/null, or the same value as a string. */
export type WireBoolean = boolean | null | 'true' | 'false' | 'null';

export interface SandboxCheckResult {
  current_health_status: 'RISKLESS' | 'RISKY';
  expiration_date: string;
  masked_identity_number: string;
  masked_firstname: string;
  masked_lastname: string;
}

export interface SandboxPlusResult extends SandboxCheckResult {
  is_vaccinated: WireBoolean;
  is_immune: WireBoolean;
  is_test_data_shared: WireBoolean;
  /** A timestamp, JSON null, or the string `"null"`. */
  last_negative_test_date: string | null;
}

export interface BusinessErrorBody {
  errorKey: BusinessErrorKey;
  type: string;
  title: string;
  status: 400;
  message: string;
  params: string[];
}

export interface SandboxBulkResponse<R extends SandboxCheckResult = SandboxCheckResult> {
  success_map: Record<string, R>;
  unsuccess_map: Record<string, BusinessErrorKey>;
}

export type SandboxSingleResponse<R extends SandboxCheckResult = SandboxCheckResult> =
  | { status: 200; body: R }
  | { status: 400; body: BusinessErrorBody };

const CODE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const RISKLESS_FIRST = CODE_ALPHABET.replace(/[RNE]/g, '');
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const EXPIRATION_BASE = Date.UTC(2070, 0, 1);
const NEGATIVE_TEST_BASE = Date.UTC(2021, 7, 1);
const DATE_FORMATS: readonly SandboxDateFormat[] = ['hour', 'seconds', 'iso'];

const ERROR_TITLES: Record<BusinessErrorKey, string> = {
  hescodenotfound: 'HES code not found',
  hescodehasbeenexpired: 'HES code has been expired',
};

const hashOf = (code: string, salt: string): number => fnv1a(`${code}|${salt}`);

function normalisedOrThrow(code: string): string {
  const normalised = normaliseHesCode(code);
  if (normalised === null)
    throw new TypeError('not a HES code: expected 10 characters [A-Z0-9] (dashes allowed)');
  return normalised;
}

/** What the sandbox answers for a code. Malformed codes are answered like unknown ones. */
export function sandboxOutcomeFor(code: string): SandboxOutcome {
  const normalised = normaliseHesCode(code);
  if (normalised === null) return 'NOT_FOUND';
  switch (normalised[0]) {
    case 'R':
      return 'RISKY';
    case 'N':
      return 'NOT_FOUND';
    case 'E':
      return 'EXPIRED';
    default:
      return 'RISKLESS';
  }
}

export function sandboxPlusProfileFor(code: string): SandboxPlusProfile {
  const second = normalisedOrThrow(code)[1];
  return second === 'V' ? 'VACCINATED' : second === 'U' ? 'UNVACCINATED' : 'MIXED';
}

/** The last three digits of `masked_identity_number` for a code (what HR would hold). */
export function sandboxIdentityLast3(code: string): string {
  const normalised = normalisedOrThrow(code);
  let digits = '';
  for (let i = 7; i < 10; i++) {
    const ch = normalised[i]!;
    digits += ch >= '0' && ch <= '9' ? ch : String(ch.charCodeAt(0) % 10);
  }
  return digits;
}

export function sandboxDateFormatFor(code: string): SandboxDateFormat {
  return DATE_FORMATS[hashOf(normalisedOrThrow(code), 'date-format') % DATE_FORMATS.length]!;
}

/** The instant `expiration_date` denotes (whole hours, so every format names the same instant). */
export function sandboxExpirationFor(code: string): Date {
  const h = hashOf(normalisedOrThrow(code), 'expiration');
  return new Date(EXPIRATION_BASE + (h % 365) * DAY_MS + ((h >>> 16) % 24) * HOUR_MS);
}

function formatDate(instant: number, format: SandboxDateFormat): string {
  const iso = new Date(instant).toISOString();
  if (format === 'hour') return iso.slice(0, 13); // "2070-12-30T13": truncated, zone-less
  if (format === 'seconds') return iso.slice(0, 19); // "2070-12-30T13:00:00": zone-less
  return iso; // "2070-12-30T13:00:00.000Z"
}

function maskName(name: string, padHash: number): string {
  const masked = `${Array.from(name).slice(0, 2).join('')}****`;
  // One name in four carries trailing blanks, as some real responses do.
  return padHash % 4 === 0 ? masked + ' '.repeat(1 + ((padHash >>> 8) % 3)) : masked;
}

/** JSON boolean/null for about half of the (code, field) pairs, the string form for the rest. */
function wire(value: boolean | null, reprHash: number): WireBoolean {
  if (reprHash % 2 === 0) return value;
  return value === null ? 'null' : value ? 'true' : 'false';
}

function buildResult(code: string, status: 'RISKLESS' | 'RISKY'): SandboxCheckResult {
  const format = sandboxDateFormatFor(code);
  const first = SANDBOX_FIRST_NAMES[hashOf(code, 'first-name') % SANDBOX_FIRST_NAMES.length]!;
  const last = SANDBOX_LAST_NAMES[hashOf(code, 'last-name') % SANDBOX_LAST_NAMES.length]!;
  return {
    current_health_status: status,
    expiration_date: formatDate(sandboxExpirationFor(code).getTime(), format),
    masked_identity_number: `********${sandboxIdentityLast3(code)}`,
    masked_firstname: maskName(first, hashOf(code, 'pad-first')),
    masked_lastname: maskName(last, hashOf(code, 'pad-last')),
  };
}

function buildPlus(code: string, base: SandboxCheckResult): SandboxPlusResult {
  const profile = sandboxPlusProfileFor(code);
  const [vaccinated, immune, shared]: [boolean, boolean, boolean | null] =
    profile === 'VACCINATED'
      ? [true, true, true]
      : profile === 'UNVACCINATED'
        ? [false, false, false]
        : [true, false, null];
  let negative: string | null = null;
  if (profile === 'VACCINATED') {
    const h = hashOf(code, 'negative-test');
    negative = formatDate(
      NEGATIVE_TEST_BASE + (h % 28) * DAY_MS + ((h >>> 8) % 24) * HOUR_MS,
      sandboxDateFormatFor(code),
    );
  } else if (hashOf(code, 'repr-last_negative_test_date') % 2 === 1) {
    negative = 'null';
  }
  return {
    ...base,
    is_vaccinated: wire(vaccinated, hashOf(code, 'repr-is_vaccinated')),
    is_immune: wire(immune, hashOf(code, 'repr-is_immune')),
    is_test_data_shared: wire(shared, hashOf(code, 'repr-is_test_data_shared')),
    last_negative_test_date: negative,
  };
}

/**
 * The exact 200 body the sandbox sends for a code (check-hes-code, or check-hes-code-plus with
 * `plus: true`), or null when the code is answered with a business error (not found, expired, malformed).
 */
export function sandboxResultFor(code: string, options: { plus: true }): SandboxPlusResult | null;
export function sandboxResultFor(code: string, options?: { plus?: false }): SandboxCheckResult | null;
export function sandboxResultFor(code: string, options?: { plus?: boolean }): SandboxCheckResult | null;
export function sandboxResultFor(code: string, options: { plus?: boolean } = {}): SandboxCheckResult | null {
  const outcome = sandboxOutcomeFor(code);
  if (outcome !== 'RISKLESS' && outcome !== 'RISKY') return null;
  const normalised = normalisedOrThrow(code);
  const base = buildResult(normalised, outcome);
  return options.plus ? buildPlus(normalised, base) : base;
}

export function businessErrorBody(errorKey: BusinessErrorKey): BusinessErrorBody {
  // Shaped like the Java (JHipster/zalando problem) bodies the Ministry's service returns.
  return {
    errorKey,
    type: 'https://www.jhipster.tech/problem/problem-with-message',
    title: ERROR_TITLES[errorKey],
    status: 400,
    message: `error.${errorKey}`,
    params: [],
  };
}

export function sandboxErrorKeyFor(code: string): BusinessErrorKey | null {
  const outcome = sandboxOutcomeFor(code);
  return outcome === 'NOT_FOUND' ? 'hescodenotfound' : outcome === 'EXPIRED' ? 'hescodehasbeenexpired' : null;
}

/** Exactly what a single call (check-hes-code, -employee-, -visitor-, -plus) answers for a code. */
export function sandboxResponseFor(code: string, options: { plus?: boolean } = {}): SandboxSingleResponse {
  const result = sandboxResultFor(code, options);
  if (result) return { status: 200, body: result };
  return { status: 400, body: businessErrorBody(sandboxErrorKeyFor(code) ?? 'hescodenotfound') };
}

/**
 * The 200 body of check-hes-codes(-plus) for the codes sent. Valid codes are keyed by their normalised
 * form; malformed ones by exactly what was sent. Maps are built from entries so a key such as
 * `__proto__` stays an ordinary key.
 */
export function sandboxBulkResponseFor(
  codes: readonly string[],
  options: { plus?: boolean } = {},
): SandboxBulkResponse {
  const success = new Map<string, SandboxCheckResult>();
  const unsuccess = new Map<string, BusinessErrorKey>();
  for (const sent of codes) {
    const key = normaliseHesCode(sent) ?? sent;
    const result = sandboxResultFor(sent, options);
    if (result) success.set(key, result);
    else unsuccess.set(key, sandboxErrorKeyFor(sent) ?? 'hescodenotfound');
  }
  return { success_map: Object.fromEntries(success), unsuccess_map: Object.fromEntries(unsuccess) };
}

/**
 * `count` distinct valid codes with the given outcome, reproducible for a seed. `profile` pins the
 * second character (plus fields) when given.
 */
export function generateSandboxCodes(
  outcome: SandboxOutcome,
  count: number,
  seed = 1,
  options: { profile?: SandboxPlusProfile } = {},
): string[] {
  if (!Number.isInteger(count) || count < 0 || count > 10_000_000) {
    throw new RangeError('count must be an integer between 0 and 10 000 000');
  }
  const random = mulberry32(seed);
  const pick = (alphabet: string): string => alphabet[Math.floor(random() * alphabet.length)]!;
  const first =
    outcome === 'RISKY' ? 'R' : outcome === 'NOT_FOUND' ? 'N' : outcome === 'EXPIRED' ? 'E' : null;
  const secondAlphabet =
    options.profile === 'VACCINATED'
      ? 'V'
      : options.profile === 'UNVACCINATED'
        ? 'U'
        : options.profile === 'MIXED'
          ? CODE_ALPHABET.replace(/[VU]/g, '')
          : CODE_ALPHABET;
  const codes = new Set<string>();
  while (codes.size < count) {
    let code = (first ?? pick(RISKLESS_FIRST)) + pick(secondAlphabet);
    for (let i = 2; i < 10; i++) code += pick(CODE_ALPHABET);
    codes.add(code);
  }
  return [...codes];
}

import { createHash, randomBytes } from 'node:crypto';

/** Scopes an API key can carry (SPEC §4); `admin` implies the others. */
export const SCOPES = ['checks:write', 'checks:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Keys start with this, so a leaked key is recognisable (secret scanners, log reviews). */
export const API_KEY_PREFIX = 'hes_';
/** Characters of a key kept in clear as its `prefix`, shown in listings. */
export const API_KEY_PREFIX_LENGTH = 12;
const API_KEY_SHAPE = /^hes_[A-Za-z0-9_-]{43}$/;

/** Base of the API key errors; branch on `code`. */
export abstract class ApiKeyError extends Error {
  abstract readonly code: string;
}

export class InvalidScopeError extends ApiKeyError {
  readonly code = 'API_KEY_SCOPE_INVALID';
  /** The offending scope; null when none was given at all. */
  readonly scope: string | null;
  constructor(scope: string | null) {
    super(
      scope === null
        ? `At least one scope is required (one of ${SCOPES.join(', ')})`
        : `Unknown scope "${scope}" (expected one of ${SCOPES.join(', ')})`,
    );
    this.name = 'InvalidScopeError';
    this.scope = scope;
  }
}

export interface GeneratedApiKey {
  /** The secret; shown to the operator once and never stored. */
  key: string;
  prefix: string;
  /** SHA-256 (hex) of the key: what the database keeps. */
  hash: string;
}

/**
 * A new key: 32 random bytes are enough entropy that a plain SHA-256 (no salt, no slow KDF) is a safe
 * verifier, and it lets the API find a key by an indexed equality lookup.
 */
export function generateApiKey(): GeneratedApiKey {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, API_KEY_PREFIX_LENGTH), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whether `value` has the shape of a key made by generateApiKey. */
export function looksLikeApiKey(value: string): boolean {
  return API_KEY_SHAPE.test(value);
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** `"checks:read, checks:write"` → scopes, without duplicates; throws InvalidScopeError. */
export function parseScopes(csv: string): Scope[] {
  return validateScopes(csv.split(','));
}

/** Validates scopes given as a list (blank entries ignored, duplicates dropped). */
export function validateScopes(values: readonly string[]): Scope[] {
  const scopes: Scope[] = [];
  for (const raw of values) {
    const value = raw.trim();
    if (value === '') continue;
    if (!isScope(value)) throw new InvalidScopeError(value);
    if (!scopes.includes(value)) scopes.push(value);
  }
  if (scopes.length === 0) throw new InvalidScopeError(null);
  return scopes;
}

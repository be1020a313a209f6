import { timingSafeEqual } from 'node:crypto';
import type { PgPool } from '../db/pg-pool.js';
import type { PrismaClient } from '../db/prisma.js';
import { ApiKeyError, generateApiKey, type Scope, validateScopes } from './api-keys.js';

/** A PrismaClient or a transaction client. */
export type ApiKeysDb = Pick<PrismaClient, 'apiKey'>;

/** A key as listings show it: never the hash, never the key. */
export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  /** As stored; may hold scopes a later version no longer knows. */
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedApiKey extends ApiKeyView {
  /** The plain key, returned this once. */
  key: string;
}

export class InvalidApiKeyNameError extends ApiKeyError {
  readonly code = 'API_KEY_NAME_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidApiKeyNameError';
  }
}

export class ApiKeyNotFoundError extends ApiKeyError {
  readonly code = 'API_KEY_NOT_FOUND';
  constructor(readonly idOrPrefix: string) {
    super(`No API key has the id or prefix "${idOrPrefix}"`);
    this.name = 'ApiKeyNotFoundError';
  }
}

export class AmbiguousApiKeyError extends ApiKeyError {
  readonly code = 'API_KEY_AMBIGUOUS';
  constructor(readonly prefix: string) {
    super(`More than one API key has the prefix "${prefix}"; use the id`);
    this.name = 'AmbiguousApiKeyError';
  }
}

const VIEW = {
  id: true,
  name: true,
  prefix: true,
  scopes: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_NAME_LENGTH = 200;

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw new InvalidApiKeyNameError('The key needs a name');
  if (trimmed.length > MAX_NAME_LENGTH) {
    throw new InvalidApiKeyNameError(`The name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new InvalidApiKeyNameError('The name contains control characters');
  }
  return trimmed;
}

/** Stores a new key's hash and returns the plain key, which cannot be recovered afterwards. */
export async function createApiKey(
  db: ApiKeysDb,
  input: { name: string; scopes: readonly Scope[] | readonly string[] },
): Promise<CreatedApiKey> {
  const name = checkName(input.name);
  const scopes = validateScopes(input.scopes);
  const { key, prefix, hash } = generateApiKey();
  const row = await db.apiKey.create({ data: { name, prefix, hash, scopes }, select: VIEW });
  return { ...row, key };
}

/** Every key, oldest first. */
export function listApiKeys(db: ApiKeysDb): Promise<ApiKeyView[]> {
  return db.apiKey.findMany({ select: VIEW, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

/**
 * Revokes the key with this id or prefix. Revoking a revoked key is not an error (`alreadyRevoked`), so
 * operators and scripts can repeat it.
 */
export async function revokeApiKey(
  db: ApiKeysDb,
  idOrPrefix: string,
  now: () => Date = () => new Date(),
): Promise<{ key: ApiKeyView; alreadyRevoked: boolean }> {
  const needle = idOrPrefix.trim();
  if (needle === '') throw new ApiKeyNotFoundError(idOrPrefix);
  const where = UUID.test(needle) ? { id: needle.toLowerCase() } : { prefix: needle };
  const matches = await db.apiKey.findMany({ where, select: VIEW, take: 2 });
  const [match, another] = matches;
  if (!match) throw new ApiKeyNotFoundError(needle);
  if (another) throw new AmbiguousApiKeyError(needle);
  if (match.revokedAt !== null) return { key: match, alreadyRevoked: true };
  const revokedAt = now();
  // Conditional update: of two concurrent revocations only one sets the time.
  const { count } = await db.apiKey.updateMany({
    where: { id: match.id, revokedAt: null },
    data: { revokedAt },
  });
  if (count === 0) {
    const current = await db.apiKey.findUnique({ where: { id: match.id }, select: VIEW });
    if (!current) throw new ApiKeyNotFoundError(needle);
    return { key: current, alreadyRevoked: true };
  }
  return { key: { ...match, revokedAt }, alreadyRevoked: false };
}

/** The unrevoked key whose SHA-256 is `hash`, or null. */
export async function findActiveKeyByHash(db: ApiKeysDb, hash: string): Promise<ApiKeyView | null> {
  if (!SHA256_HEX.test(hash)) return null;
  // The lookup goes through the unique index on a hash of a high-entropy key, so its timing reveals
  // nothing useful; the constant-time comparison makes the match itself independent of the database.
  const row = await db.apiKey.findUnique({ where: { hash }, select: { ...VIEW, hash: true } });
  if (!row || row.revokedAt !== null) return null;
  const expected = Buffer.from(row.hash, 'hex');
  const given = Buffer.from(hash, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  const { hash: _hash, ...view } = row;
  return view;
}

/** Records a use of the key; false when the key no longer exists. */
export async function touchLastUsed(db: ApiKeysDb, id: string, at: Date = new Date()): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const { count } = await db.apiKey.updateMany({ where: { id }, data: { lastUsedAt: at } });
  return count === 1;
}

/** What the hot-path functions below need of a node-postgres pool (or client). */
export type PgQueryable = Pick<PgPool, 'query'>;

interface ApiKeyPgRow extends Record<string, unknown> {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/**
 * `findActiveKeyByHash` for the API's per-request authentication, on a plain `pg` pool: a named
 * prepared statement (parsed and planned once per connection) instead of Prisma's query compiler,
 * which cost more CPU than the rest of a POST /v1/checks together. No cache: a revocation is seen by
 * the very next request.
 */
export async function findActiveKeyByHashPg(db: PgQueryable, hash: string): Promise<ApiKeyView | null> {
  return (await findActiveKeysByHashPg(db, [hash]))[0] ?? null;
}

/**
 * `findActiveKeyByHashPg` for several hashes in one statement (the API coalesces the lookups of
 * requests that arrive together); answers in the order asked, duplicates included.
 */
export async function findActiveKeysByHashPg(
  db: PgQueryable,
  hashes: readonly string[],
): Promise<(ApiKeyView | null)[]> {
  const valid = [...new Set(hashes.filter((h) => SHA256_HEX.test(h)))];
  if (valid.length === 0) return hashes.map(() => null);
  const { rows } = await db.query<ApiKeyPgRow>({
    name: 'hes_api_keys_by_hash',
    text: `SELECT id, name, prefix, hash, scopes, created_at, last_used_at, revoked_at
           FROM api_keys WHERE hash = ANY($1::text[])`,
    values: [valid],
  });
  const byHash = new Map(rows.map((r) => [r.hash, r]));
  return hashes.map((hash) => activeView(byHash.get(hash), hash));
}

/** The key a row stands for, or null when absent or revoked (rows are only read for well-formed hashes). */
function activeView(row: ApiKeyPgRow | undefined, hash: string): ApiKeyView | null {
  if (!row || row.revoked_at !== null) return null;
  // Same constant-time comparison as findActiveKeyByHash.
  const expected = Buffer.from(row.hash, 'hex');
  const given = Buffer.from(hash, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** `touchLastUsed` on a `pg` pool; the caller throttles (one write per key and interval). */
export async function touchLastUsedPg(db: PgQueryable, id: string, at: Date = new Date()): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const { rowCount } = await db.query({
    name: 'hes_api_key_touch',
    text: 'UPDATE api_keys SET last_used_at = $2 WHERE id = $1::uuid',
    values: [id, at],
  });
  return rowCount === 1;
}

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateApiKey,
  hashApiKey,
  InvalidScopeError,
  looksLikeApiKey,
  parseScopes,
  SCOPES,
} from '../src/auth/api-keys.js';
import {
  AmbiguousApiKeyError,
  ApiKeyNotFoundError,
  createApiKey,
  findActiveKeyByHash,
  findActiveKeyByHashPg,
  findActiveKeysByHashPg,
  InvalidApiKeyNameError,
  listApiKeys,
  revokeApiKey,
  touchLastUsed,
  touchLastUsedPg,
} from '../src/auth/api-keys-repository.js';
import { createPgPool } from '../src/db/pg-pool.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';

describe('api key helpers', () => {
  it('generates hes_ + 32 random bytes in base64url, with a 12-character prefix and its SHA-256', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).toMatch(/^hes_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.key.slice(4), 'base64url')).toHaveLength(32);
    expect(a.prefix).toBe(a.key.slice(0, 12));
    expect(a.hash).toBe(createHash('sha256').update(a.key).digest('hex'));
    expect(hashApiKey(a.key)).toBe(a.hash);
    expect(looksLikeApiKey(a.key)).toBe(true);
    expect(b.key).not.toBe(a.key);
    expect(b.hash).not.toBe(a.hash);
  });

  it('parses scopes: trims, drops blanks and duplicates', () => {
    expect(SCOPES).toEqual(['checks:write', 'checks:read', 'admin']);
    expect(parseScopes('checks:write')).toEqual(['checks:write']);
    expect(parseScopes(' checks:read , admin,,checks:read ')).toEqual(['checks:read', 'admin']);
  });

  it('names the bad scope in a typed error', () => {
    const error = (() => {
      try {
        parseScopes('checks:read,checks:delete');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidScopeError);
    expect((error as InvalidScopeError).code).toBe('API_KEY_SCOPE_INVALID');
    expect((error as InvalidScopeError).scope).toBe('checks:delete');
    expect((error as Error).message).toContain('checks:delete');
    expect(() => parseScopes('Admin')).toThrow(InvalidScopeError);
  });

  it('refuses an empty scope list', () => {
    for (const csv of ['', ' , ']) {
      try {
        parseScopes(csv);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidScopeError);
        expect((e as InvalidScopeError).scope).toBeNull();
      }
    }
  });
});

describe('api keys repository', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('api-keys');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('stores only the hash and returns the plain key once', async () => {
    const created = await createApiKey(db.prisma, {
      name: '  turnstiles  ',
      scopes: ['checks:write', 'checks:read'],
    });
    expect(looksLikeApiKey(created.key)).toBe(true);
    expect(created).toMatchObject({
      name: 'turnstiles',
      prefix: created.key.slice(0, 12),
      scopes: ['checks:write', 'checks:read'],
      lastUsedAt: null,
      revokedAt: null,
    });
    const rows = await db.prisma.$queryRaw<
      Record<string, unknown>[]
    >`SELECT * FROM api_keys WHERE id = ${created.id}::uuid`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hash).toBe(hashApiKey(created.key));
    // The secret part of the key appears in no column.
    expect(JSON.stringify(rows[0])).not.toContain(created.key.slice(12));
  });

  it('lists keys without hashes', async () => {
    const created = await createApiKey(db.prisma, { name: 'hr', scopes: ['checks:read'] });
    const listed = await listApiKeys(db.prisma);
    const mine = listed.find((k) => k.id === created.id);
    expect(mine).toBeDefined();
    expect(Object.keys(mine!).sort()).toEqual(
      ['createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'scopes'].sort(),
    );
    expect(JSON.stringify(listed)).not.toContain(hashApiKey(created.key));
  });

  it('finds an active key by hash, and not after revocation by prefix', async () => {
    const created = await createApiKey(db.prisma, { name: 'kiosk', scopes: ['checks:write'] });
    const found = await findActiveKeyByHash(db.prisma, hashApiKey(created.key));
    expect(found).toMatchObject({ id: created.id, name: 'kiosk', scopes: ['checks:write'] });
    expect(found).not.toHaveProperty('hash');

    const revoked = await revokeApiKey(db.prisma, created.prefix);
    expect(revoked.alreadyRevoked).toBe(false);
    expect(revoked.key.id).toBe(created.id);
    expect(revoked.key.revokedAt).toBeInstanceOf(Date);
    expect(await findActiveKeyByHash(db.prisma, hashApiKey(created.key))).toBeNull();

    const again = await revokeApiKey(db.prisma, created.id);
    expect(again.alreadyRevoked).toBe(true);
    expect(again.key.revokedAt).toEqual(revoked.key.revokedAt);
  });

  it('revokes by id (any case) and leaves other keys alone', async () => {
    const a = await createApiKey(db.prisma, { name: 'a', scopes: ['admin'] });
    const b = await createApiKey(db.prisma, { name: 'b', scopes: ['admin'] });
    await revokeApiKey(db.prisma, a.id.toUpperCase());
    expect(await findActiveKeyByHash(db.prisma, hashApiKey(a.key))).toBeNull();
    expect(await findActiveKeyByHash(db.prisma, hashApiKey(b.key))).not.toBeNull();
  });

  it('does not find unknown or malformed hashes', async () => {
    const created = await createApiKey(db.prisma, { name: 'c', scopes: ['admin'] });
    expect(await findActiveKeyByHash(db.prisma, hashApiKey(`${created.key}x`))).toBeNull();
    expect(await findActiveKeyByHash(db.prisma, created.key)).toBeNull();
    expect(await findActiveKeyByHash(db.prisma, hashApiKey(created.key).toUpperCase())).toBeNull();
  });

  it('reports unknown and ambiguous ids or prefixes', async () => {
    await expect(revokeApiKey(db.prisma, 'hes_nothere0')).rejects.toBeInstanceOf(ApiKeyNotFoundError);
    await expect(revokeApiKey(db.prisma, '00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({
      code: 'API_KEY_NOT_FOUND',
    });
    await db.prisma.apiKey.createMany({
      data: [
        { name: 'd1', prefix: 'hes_samepref', hash: '1'.repeat(64), scopes: ['admin'] },
        { name: 'd2', prefix: 'hes_samepref', hash: '2'.repeat(64), scopes: ['admin'] },
      ],
    });
    await expect(revokeApiKey(db.prisma, 'hes_samepref')).rejects.toBeInstanceOf(AmbiguousApiKeyError);
    expect(
      await db.prisma.apiKey.count({ where: { prefix: 'hes_samepref', revokedAt: { not: null } } }),
    ).toBe(0);
  });

  it('validates name and scopes on creation', async () => {
    await expect(createApiKey(db.prisma, { name: ' ', scopes: ['admin'] })).rejects.toBeInstanceOf(
      InvalidApiKeyNameError,
    );
    await expect(createApiKey(db.prisma, { name: 'x', scopes: ['root'] })).rejects.toBeInstanceOf(
      InvalidScopeError,
    );
    await expect(createApiKey(db.prisma, { name: 'x', scopes: [] })).rejects.toBeInstanceOf(
      InvalidScopeError,
    );
  });

  it('records the last use', async () => {
    const created = await createApiKey(db.prisma, { name: 'e', scopes: ['checks:read'] });
    const at = new Date('2026-01-02T03:04:05.678Z');
    expect(await touchLastUsed(db.prisma, created.id, at)).toBe(true);
    const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.lastUsedAt).toEqual(at);
    expect(await touchLastUsed(db.prisma, '00000000-0000-0000-0000-000000000000')).toBe(false);
    expect(await touchLastUsed(db.prisma, 'not-a-uuid')).toBe(false);
  });

  it('pg variants (the API per-request path) agree with the Prisma ones, and see a revocation at once', async () => {
    const pool = createPgPool(db.url, { max: 2 });
    try {
      const created = await createApiKey(db.prisma, { name: 'pg', scopes: ['checks:write'] });
      const viaPg = await findActiveKeyByHashPg(pool, hashApiKey(created.key));
      expect(viaPg).toEqual(await findActiveKeyByHash(db.prisma, hashApiKey(created.key)));
      expect(await findActiveKeyByHashPg(pool, hashApiKey(`${created.key}x`))).toBeNull();
      expect(await findActiveKeyByHashPg(pool, created.key)).toBeNull();
      await revokeApiKey(db.prisma, created.id);
      // The same pooled connection, the same prepared statement: no cache in between.
      expect(await findActiveKeyByHashPg(pool, hashApiKey(created.key))).toBeNull();

      // Several hashes in one statement (the API coalesces concurrent lookups): answers in the order
      // asked, duplicates answered each time, unknown / malformed / revoked → null.
      const other = await createApiKey(db.prisma, { name: 'pg-other', scopes: ['checks:read'] });
      const otherHash = hashApiKey(other.key);
      const many = await findActiveKeysByHashPg(pool, [
        otherHash,
        hashApiKey(created.key),
        'not-a-hash',
        otherHash,
        hashApiKey(`${other.key}x`),
      ]);
      expect(many.map((k) => k?.id ?? null)).toEqual([other.id, null, null, other.id, null]);
      expect(many[0]).toEqual(await findActiveKeyByHash(db.prisma, otherHash));
      expect(await findActiveKeysByHashPg(pool, [])).toEqual([]);

      const at = new Date('2026-02-03T04:05:06.789Z');
      expect(await touchLastUsedPg(pool, created.id, at)).toBe(true);
      const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } });
      expect(row.lastUsedAt).toEqual(at);
      expect(await touchLastUsedPg(pool, '00000000-0000-0000-0000-000000000000')).toBe(false);
      expect(await touchLastUsedPg(pool, 'not-a-uuid')).toBe(false);
    } finally {
      await pool.end();
    }
  });
});

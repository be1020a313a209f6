import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, seedCheckAndBatch, startApi, waitFor } from './helpers.js';

let h: ApiHarness;
let checkId: string;
let batchId: string;

beforeAll(async () => {
  h = await startApi('auth');
  ({ checkId, batchId } = await seedCheckAndBatch(h, 'A1B2-C3D4-E5', 'auth-seed'));
});
afterAll(() => h.close());

type Route = { method: 'GET' | 'POST'; url: () => string; payload?: unknown; scope: 'read' | 'write' };
const routes: Route[] = [
  { method: 'POST', url: () => '/v1/checks', payload: { hesCode: 'Z9Y8X7W6V5' }, scope: 'write' },
  {
    method: 'POST',
    url: () => '/v1/batches',
    payload: { items: [{ hesCode: 'Z9Y8X7W6V5' }] },
    scope: 'write',
  },
  { method: 'GET', url: () => `/v1/checks/${checkId}`, scope: 'read' },
  { method: 'GET', url: () => '/v1/checks', scope: 'read' },
  { method: 'GET', url: () => `/v1/batches/${batchId}`, scope: 'read' },
  { method: 'GET', url: () => `/v1/batches/${batchId}/checks`, scope: 'read' },
];

describe('authentication', () => {
  it.each(routes)(
    '$method $scope route without Authorization is 401 UNAUTHORIZED with WWW-Authenticate',
    async (r) => {
      const res = await h.app.inject({
        method: r.method,
        url: r.url(),
        ...(r.payload ? { payload: r.payload } : {}),
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="hes-gateway"/);
      expect(res.json()).toMatchObject({
        status: 401,
        code: 'UNAUTHORIZED',
        title: expect.any(String),
        type: expect.stringMatching(/^urn:/),
      });
    },
  );

  it('rejects a non-Bearer scheme, an unknown key and a revoked key with 401', async () => {
    const basic = await h.app.inject({
      method: 'GET',
      url: '/v1/checks',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    expect(basic.statusCode).toBe(401);
    expect(basic.json().code).toBe('UNAUTHORIZED');

    const unknown = await h.app.inject({
      method: 'GET',
      url: '/v1/checks',
      headers: h.auth('hes_doesnotexist0000000000000000'),
    });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('a revoked key is refused at once', async () => {
    const ok = await h.app.inject({ method: 'GET', url: '/v1/checks', headers: h.auth(h.keys.read) });
    expect(ok.statusCode).toBe(200);
    const keyRow = await h.db.prisma.apiKey.findFirstOrThrow({ where: { name: 'reader' } });
    await h.db.prisma.apiKey.update({ where: { id: keyRow.id }, data: { revokedAt: new Date() } });
    try {
      const res = await h.app.inject({ method: 'GET', url: '/v1/checks', headers: h.auth(h.keys.read) });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('UNAUTHORIZED');
    } finally {
      await h.db.prisma.apiKey.update({ where: { id: keyRow.id }, data: { revokedAt: null } });
    }
  });
});

describe('scopes', () => {
  const cases = routes.flatMap((r) =>
    (['read', 'write', 'readWrite', 'admin'] as const).map((key) => ({
      ...r,
      key,
      allowed: key === 'admin' || key === 'readWrite' || key === r.scope,
    })),
  );

  it.each(cases)('$method $scope route with $key key → allowed=$allowed', async (c) => {
    const res = await h.app.inject({
      method: c.method,
      url: c.url(),
      headers: h.auth(h.keys[c.key]),
      ...(c.payload ? { payload: c.payload } : {}),
    });
    if (c.allowed) {
      expect([200, 202]).toContain(res.statusCode);
    } else {
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN_SCOPE', status: 403 });
      expect(res.headers['www-authenticate']).toContain('insufficient_scope');
    }
  });

  it('public endpoints need no key', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
    }
    const docs = await h.app.inject({ method: 'GET', url: '/docs' });
    expect(docs.statusCode).toBeLessThan(400);
  });
});

describe('last_used_at', () => {
  it('is recorded on use, and not rewritten on every request', async () => {
    const name = 'reader-writer';
    await h.app.inject({ method: 'GET', url: '/v1/checks?limit=1', headers: h.auth(h.keys.readWrite) });
    const first = await waitFor(
      async () => (await h.db.prisma.apiKey.findFirstOrThrow({ where: { name } })).lastUsedAt,
      { timeoutMs: 5_000, message: 'last_used_at was not recorded' },
    );
    for (let i = 0; i < 3; i++) {
      await h.app.inject({ method: 'GET', url: '/v1/checks?limit=1', headers: h.auth(h.keys.readWrite) });
    }
    // A write, had one been issued, would have landed before this later read on the same pool.
    await h.app.inject({ method: 'GET', url: '/v1/checks?limit=1', headers: h.auth(h.keys.admin) });
    const after = (await h.db.prisma.apiKey.findFirstOrThrow({ where: { name } })).lastUsedAt;
    expect(after?.getTime()).toBe(first.getTime());
  });
});

import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { createApiKey, revokeApiKey } from '@hes/core';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, serverTimeouts } from '../src/app.js';
import { loadApiConfig } from '../src/config.js';
import { type ApiHarness, seedCheckAndBatch, startApi } from './helpers.js';

// Issue 6 §3: per-key rate limit, scopes on every route, revocation, security headers, CORS, body
// limits, timeouts. A small body limit keeps the 413 cases cheap.
let h: ApiHarness;
let checkId: string;
let batchId: string;

beforeAll(async () => {
  h = await startApi('abuse', { API_BODY_LIMIT_BYTES: String(64 * 1024) });
  ({ checkId, batchId } = await seedCheckAndBatch(h));
  rosterId = await newRoster();
});
afterAll(() => h.close());

function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status, code });
}

type Needs = 'checks:read' | 'checks:write' | 'none';
interface RouteCase {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The OpenAPI path template, so the table is checked against the document. */
  template: string;
  /** Per key set: webhooks belong to the key that made them, and DELETEs need a fresh resource each time. */
  url: (keySet: KeySet) => string | Promise<string>;
  payload?: unknown | (() => unknown);
  headers?: Record<string, string>;
  needs: Needs;
  /** Webhooks are private to the key that made them: a read-only key (which cannot make one) sees none. */
  ownedByKey?: true;
}

const HOOK_URL = 'https://hooks.example.test/hes';
let rosterId: string;
let rosterSeq = 0;
const rosterName = () => `abuse roster ${++rosterSeq}`;

async function newRoster(): Promise<string> {
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/rosters',
    headers: h.auth(h.keys.admin),
    payload: { name: rosterName(), items: [{ hesCode: 'Z9Y8X7W6V5', reference: 'r-1' }] },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

/** A webhook owned by the key set's key (keys without checks:write cannot make one: any id will do). */
async function newWebhook(keySet: KeySet): Promise<{ id: string; deliveryId: string }> {
  const key =
    keySet === 'write' || keySet === 'readWrite' || keySet === 'admin' ? h.keys[keySet] : h.keys.admin;
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/webhooks',
    headers: h.auth(key),
    payload: { url: HOOK_URL },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id: string = res.json().id;
  const ping = await h.app.inject({ method: 'POST', url: `/v1/webhooks/${id}/ping`, headers: h.auth(key) });
  expect(ping.statusCode, ping.body).toBe(202);
  return { id, deliveryId: ping.json().id };
}
const hooks = new Map<KeySet, Promise<{ id: string; deliveryId: string }>>();
const hookOf = (keySet: KeySet) => {
  if (!hooks.has(keySet)) hooks.set(keySet, newWebhook(keySet));
  return hooks.get(keySet)!;
};

const ROUTES: RouteCase[] = [
  {
    method: 'POST',
    template: '/v1/checks',
    url: () => '/v1/checks',
    payload: { hesCode: 'Z9Y8X7W6V5' },
    needs: 'checks:write',
  },
  { method: 'GET', template: '/v1/checks', url: () => '/v1/checks', needs: 'checks:read' },
  { method: 'GET', template: '/v1/checks/{id}', url: () => `/v1/checks/${checkId}`, needs: 'checks:read' },
  {
    method: 'POST',
    template: '/v1/batches',
    url: () => '/v1/batches',
    payload: { items: [{ hesCode: 'Z9Y8X7W6V5' }] },
    needs: 'checks:write',
  },
  {
    method: 'POST',
    template: '/v1/batches',
    url: () => '/v1/batches?kind=standard',
    payload: 'hesCode,reference\r\nZ9Y8X7W6V5,csv\r\n',
    headers: { 'content-type': 'text/csv' },
    needs: 'checks:write',
  },
  { method: 'GET', template: '/v1/batches', url: () => '/v1/batches', needs: 'checks:read' },
  { method: 'GET', template: '/v1/batches/{id}', url: () => `/v1/batches/${batchId}`, needs: 'checks:read' },
  {
    method: 'GET',
    template: '/v1/batches/{id}/checks',
    url: () => `/v1/batches/${batchId}/checks`,
    needs: 'checks:read',
  },
  {
    method: 'GET',
    template: '/v1/batches/{id}/checks',
    url: () => `/v1/batches/${batchId}/checks`,
    headers: { accept: 'text/csv' },
    needs: 'checks:read',
  },
  {
    method: 'POST',
    template: '/v1/rosters',
    url: () => '/v1/rosters',
    payload: () => ({ name: rosterName(), items: [{ hesCode: 'Z9Y8X7W6V5' }] }),
    needs: 'checks:write',
  },
  { method: 'GET', template: '/v1/rosters', url: () => '/v1/rosters', needs: 'checks:read' },
  { method: 'GET', template: '/v1/rosters/{id}', url: () => `/v1/rosters/${rosterId}`, needs: 'checks:read' },
  {
    method: 'PATCH',
    template: '/v1/rosters/{id}',
    url: () => `/v1/rosters/${rosterId}`,
    payload: { schedule: null },
    needs: 'checks:write',
  },
  {
    method: 'DELETE',
    template: '/v1/rosters/{id}',
    url: () => newRoster().then((id) => `/v1/rosters/${id}`),
    needs: 'checks:write',
  },
  {
    method: 'GET',
    template: '/v1/rosters/{id}/items',
    url: () => `/v1/rosters/${rosterId}/items`,
    needs: 'checks:read',
  },
  {
    method: 'PUT',
    template: '/v1/rosters/{id}/items',
    url: () => `/v1/rosters/${rosterId}/items`,
    payload: { items: [{ hesCode: 'Z9Y8X7W6V5', reference: 'r-2' }] },
    needs: 'checks:write',
  },
  {
    method: 'PUT',
    template: '/v1/rosters/{id}/items',
    url: () => `/v1/rosters/${rosterId}/items`,
    payload: 'hesCode,reference\r\nZ9Y8X7W6V5,csv\r\n',
    headers: { 'content-type': 'text/csv' },
    needs: 'checks:write',
  },
  {
    method: 'POST',
    template: '/v1/rosters/{id}/runs',
    url: () => `/v1/rosters/${rosterId}/runs`,
    needs: 'checks:write',
  },
  {
    method: 'GET',
    template: '/v1/rosters/{id}/batches',
    url: () => `/v1/rosters/${rosterId}/batches`,
    needs: 'checks:read',
  },
  {
    method: 'POST',
    template: '/v1/webhooks',
    url: () => '/v1/webhooks',
    payload: { url: HOOK_URL },
    needs: 'checks:write',
  },
  { method: 'GET', template: '/v1/webhooks', url: () => '/v1/webhooks', needs: 'checks:read' },
  {
    method: 'GET',
    template: '/v1/webhooks/{id}',
    ownedByKey: true,
    url: async (k) => `/v1/webhooks/${(await hookOf(k)).id}`,
    needs: 'checks:read',
  },
  {
    method: 'DELETE',
    template: '/v1/webhooks/{id}',
    ownedByKey: true,
    url: async (k) => `/v1/webhooks/${(await newWebhook(k)).id}`,
    needs: 'checks:write',
  },
  {
    method: 'POST',
    template: '/v1/webhooks/{id}/rotate-secret',
    ownedByKey: true,
    url: async (k) => `/v1/webhooks/${(await hookOf(k)).id}/rotate-secret`,
    needs: 'checks:write',
  },
  {
    method: 'GET',
    template: '/v1/webhooks/{id}/deliveries',
    ownedByKey: true,
    url: async (k) => `/v1/webhooks/${(await hookOf(k)).id}/deliveries`,
    needs: 'checks:read',
  },
  {
    method: 'POST',
    template: '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
    ownedByKey: true,
    url: async (k) => {
      const hook = await hookOf(k);
      return `/v1/webhooks/${hook.id}/deliveries/${hook.deliveryId}/redeliver`;
    },
    needs: 'checks:write',
  },
  {
    method: 'POST',
    template: '/v1/webhooks/{id}/ping',
    ownedByKey: true,
    url: async (k) => `/v1/webhooks/${(await hookOf(k)).id}/ping`,
    needs: 'checks:write',
  },
  { method: 'GET', template: '/healthz', url: () => '/healthz', needs: 'none' },
  { method: 'GET', template: '/readyz', url: () => '/readyz', needs: 'none' },
  { method: 'GET', template: '/metrics', url: () => '/metrics', needs: 'none' },
  { method: 'GET', template: '/openapi.json', url: () => '/openapi.json', needs: 'none' },
  { method: 'GET', template: '/docs', url: () => '/docs/', needs: 'none' },
];

const KEY_SETS = ['none', 'bogus', 'read', 'write', 'readWrite', 'admin'] as const;
type KeySet = (typeof KEY_SETS)[number];
const SCOPES_OF: Record<KeySet, string[]> = {
  none: [],
  bogus: [],
  read: ['checks:read'],
  write: ['checks:write'],
  readWrite: ['checks:read', 'checks:write'],
  admin: ['admin'],
};

async function inject(r: RouteCase, keySet: KeySet, headers: Record<string, string> = {}, url?: string) {
  const payload = typeof r.payload === 'function' ? (r.payload as () => unknown)() : r.payload;
  return h.app.inject({
    method: r.method,
    url: url ?? (await r.url(keySet)),
    headers: { ...r.headers, ...headers },
    ...(payload !== undefined ? { payload: payload as string } : {}),
  });
}

describe('scopes, route by route', () => {
  it('the table covers every operation of the OpenAPI document', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const tested = new Set(ROUTES.map((r) => `${r.method} ${r.template}`));
    for (const op of documented) expect(tested, op).toContain(op);
  });

  const cases = ROUTES.flatMap((route) => KEY_SETS.map((keySet) => ({ route, keySet })));
  it.each(cases)(
    '$route.method $route.template ($route.needs) with key $keySet',
    async ({ route, keySet }) => {
      const auth =
        keySet === 'none'
          ? {}
          : keySet === 'bogus'
            ? h.auth('hes_bogus_key_that_does_not_exist_0000')
            : h.auth(h.keys[keySet]);
      const res = await inject(route, keySet, auth);
      const scopes = SCOPES_OF[keySet];
      if (route.needs === 'none') {
        // Public endpoints ignore the header entirely (a bogus key is not a reason to refuse a probe).
        expect(res.statusCode, res.body).toBe(200);
      } else if (keySet === 'none' || keySet === 'bogus') {
        expectProblem(res, 401, 'UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="hes-gateway"/);
      } else if (route.ownedByKey && keySet === 'read' && route.needs === 'checks:read') {
        expectProblem(res, 404, 'WEBHOOK_NOT_FOUND');
      } else if (scopes.includes('admin') || scopes.includes(route.needs)) {
        expect([200, 201, 202, 204], res.body).toContain(res.statusCode);
      } else {
        expectProblem(res, 403, 'FORBIDDEN_SCOPE');
        expect(res.headers['www-authenticate']).toContain(`scope="${route.needs}"`);
      }
    },
  );

  it('a refused write stores, changes and deletes nothing', async () => {
    const writes = ROUTES.filter((r) => r.method !== 'GET');
    // Resolve URLs first: DELETE cases make their victim (with the admin key) before anything is counted.
    const urls = await Promise.all(
      writes.map(async (r) => [await r.url('read'), await r.url('none')] as const),
    );
    const snapshot = async () => ({
      checks: await h.db.prisma.check.count(),
      batches: await h.db.prisma.batch.count(),
      rosters: await h.db.prisma.roster.findMany({ orderBy: { id: 'asc' } }),
      rosterItems: await h.db.prisma.rosterItem.count(),
      webhooks: await h.db.prisma.webhook.findMany({ orderBy: { id: 'asc' } }),
      deliveries: await h.db.prisma.webhookDelivery.count(),
    });
    const before = await snapshot();
    for (const [i, route] of writes.entries()) {
      expect((await inject(route, 'read', h.auth(h.keys.read), urls[i]![0])).statusCode).toBe(403);
      expect((await inject(route, 'none', {}, urls[i]![1])).statusCode).toBe(401);
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('revocation', () => {
  it('takes effect on the very next request (no key cache)', async () => {
    const created = await createApiKey(h.db.prisma, { name: 'to-revoke', scopes: ['admin'] });
    const get = () => h.app.inject({ method: 'GET', url: '/v1/checks', headers: h.auth(created.key) });
    expect((await get()).statusCode).toBe(200);
    await revokeApiKey(h.db.prisma, created.prefix);
    const res = await get();
    expectProblem(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('a key differing from a valid one in its last character is refused', async () => {
    const key = h.keys.admin;
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    const res = await h.app.inject({
      method: 'GET',
      url: '/v1/checks',
      headers: h.auth(key.slice(0, -1) + last),
    });
    expectProblem(res, 401, 'UNAUTHORIZED');
  });
});

describe('per-key rate limit', () => {
  let a: FastifyInstance;
  let b: FastifyInstance;
  beforeAll(async () => {
    // Two API instances on one Redis: the limit is shared, not per process.
    const env = { API_KEY_RATE_LIMIT_RPS: '0.5', API_KEY_RATE_LIMIT_BURST: '4' };
    a = await h.buildExtra(env);
    b = await h.buildExtra(env);
  });

  it('admits the burst across instances, then answers 429 RATE_LIMITED with Retry-After', async () => {
    const { key, id } = await createApiKey(h.db.prisma, { name: 'limited', scopes: ['admin'] });
    const get = (app: FastifyInstance) =>
      app.inject({ method: 'GET', url: '/v1/checks?limit=1', headers: h.auth(key) });
    const codes = [];
    for (const app of [a, b, a, b]) codes.push((await get(app)).statusCode);
    expect(codes).toEqual([200, 200, 200, 200]);

    const refused = await get(b);
    expectProblem(refused, 429, 'RATE_LIMITED');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(refused.headers['x-content-type-options']).toBe('nosniff');
    expectProblem(await get(a), 429, 'RATE_LIMITED');

    // The state is one short-lived Redis key per API key, under the deployment's prefix.
    const redisKey = `${h.redis.prefix}:ratelimit:key:${id}`;
    expect(await h.redis.connection.exists(redisKey)).toBe(1);
    const ttl = await h.redis.connection.pttl(redisKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);

    // Another key is not affected.
    const other = await a.inject({ method: 'GET', url: '/v1/checks?limit=1', headers: h.auth(h.keys.read) });
    expect(other.statusCode).toBe(200);

    const metrics = await a.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^hes_api_rate_limited_total [1-9]/m);
  });

  it('refuses a limited write before reading the body: nothing is stored', async () => {
    const { key } = await createApiKey(h.db.prisma, { name: 'limited-writer', scopes: ['checks:write'] });
    const post = () =>
      a.inject({
        method: 'POST',
        url: '/v1/checks',
        headers: h.auth(key),
        payload: { hesCode: 'K1L2M3N4P5' },
      });
    for (let i = 0; i < 4; i++) expect((await post()).statusCode).toBe(202);
    const before = await h.db.prisma.check.count();
    expectProblem(await post(), 429, 'RATE_LIMITED');
    const batch = await a.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: h.auth(key),
      payload: { items: [{ hesCode: 'K1L2M3N4P5' }] },
    });
    expectProblem(batch, 429, 'RATE_LIMITED');
    expect(await h.db.prisma.check.count()).toBe(before);
  });

  it('admits again once the interval has passed', async () => {
    const fast = await h.buildExtra({ API_KEY_RATE_LIMIT_RPS: '2', API_KEY_RATE_LIMIT_BURST: '1' });
    const { key } = await createApiKey(h.db.prisma, { name: 'refills', scopes: ['checks:read'] });
    const get = () => fast.inject({ method: 'GET', url: '/v1/checks?limit=1', headers: h.auth(key) });
    expect((await get()).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(429);
    const deadline = Date.now() + 3_000;
    let status = 429;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      status = (await get()).statusCode;
    }
    expect(status).toBe(200);
  });

  it('is off with API_KEY_RATE_LIMIT_RPS=0, and rejects an invalid setting at boot', async () => {
    expect(() =>
      loadApiConfig({ API_KEY_RATE_LIMIT_RPS: '-1', HES_DATA_KEY: Buffer.alloc(32).toString('base64') }),
    ).toThrow(/API_KEY_RATE_LIMIT_RPS/);
    const defaults = loadApiConfig({});
    expect(defaults.keyRateLimit).toEqual({ rps: 200, burst: 400 });
    const off = await h.buildExtra({ API_KEY_RATE_LIMIT_RPS: '0', API_KEY_RATE_LIMIT_BURST: '1' });
    for (let i = 0; i < 5; i++) {
      const res = await off.inject({
        method: 'GET',
        url: '/v1/checks?limit=1',
        headers: h.auth(h.keys.read),
      });
      expect(res.statusCode).toBe(200);
    }
  });
});

describe('security headers', () => {
  const samples: [string, () => Promise<LightMyRequestResponse>][] = [
    ['200 /v1', () => h.app.inject({ method: 'GET', url: '/v1/checks', headers: h.auth(h.keys.read) })],
    ['401 /v1', () => h.app.inject({ method: 'GET', url: '/v1/checks' })],
    ['404', () => h.app.inject({ method: 'GET', url: '/nope' })],
    ['undecodable URL', () => h.app.inject({ method: 'GET', url: '/v1/checks/%E0%A4%A' })],
    [
      'path segment over maxParamLength',
      () => h.app.inject({ method: 'GET', url: `/v1/checks/${'a'.repeat(500)}` }),
    ],
    [
      '400 /v1',
      () =>
        h.app.inject({
          method: 'POST',
          url: '/v1/checks',
          headers: { ...h.auth(h.keys.write), 'content-type': 'application/json' },
          payload: '{"hesCode":',
        }),
    ],
    ['/healthz', () => h.app.inject({ method: 'GET', url: '/healthz' })],
    ['/metrics', () => h.app.inject({ method: 'GET', url: '/metrics' })],
    ['/openapi.json', () => h.app.inject({ method: 'GET', url: '/openapi.json' })],
  ];

  it.each(samples)(
    '%s carries nosniff, DENY, no-referrer, no-store and a closed CSP',
    async (_name, send) => {
      const res = await send();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toMatch(/^default-src 'none'/);
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    },
  );

  it('Swagger UI loads under its CSP: same-origin scripts and styles only, every asset served', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("connect-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    // No inline script (it would need 'unsafe-inline' or a hash), no foreign origin.
    const scripts = [...page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="/);
      expect(body?.trim()).toBe('');
    }
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset, 'same origin').not.toMatch(/^(https?:)?\/\//);
      const url = new URL(asset, 'http://gateway/docs/').pathname;
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    // The initializer fetches the document from ./json, which connect-src 'self' admits.
    const init = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.body).toContain("resolveUrl('./json')");
    expect((await h.app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200);
  });
});

describe('CORS', () => {
  it('is closed by default: no allow headers, and a preflight is not answered', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/v1/checks',
      headers: { ...h.auth(h.keys.read), origin: 'https://evil.example' },
    });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);
    const preflight = await h.app.inject({
      method: 'OPTIONS',
      url: '/v1/checks',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.statusCode).toBeGreaterThanOrEqual(400);
    expect(preflight.statusCode).toBeLessThan(500);
    expect(Object.keys(preflight.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);
  });

  it('API_CORS_ORIGINS admits exactly the listed origins', async () => {
    const app = await h.buildExtra({ API_CORS_ORIGINS: 'https://hr.example, https://kiosk.example:8443' });
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/v1/checks',
      headers: { origin: 'https://hr.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://hr.example');
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/i);
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    const get = await app.inject({
      method: 'GET',
      url: '/v1/checks',
      headers: { ...h.auth(h.keys.read), origin: 'https://kiosk.example:8443' },
    });
    expect(get.headers['access-control-allow-origin']).toBe('https://kiosk.example:8443');
    expect(get.headers.vary).toMatch(/origin/i);
    const other = await app.inject({
      method: 'GET',
      url: '/v1/checks',
      headers: { ...h.auth(h.keys.read), origin: 'https://hr.example.evil.example' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(() => loadApiConfig({ API_CORS_ORIGINS: 'https://ok.example,*' })).toThrow(/API_CORS_ORIGINS/);
  });
});

describe('body limits', () => {
  it('POST /v1/checks over 64 KiB is 413 PAYLOAD_TOO_LARGE and stores nothing', async () => {
    const before = await h.db.prisma.check.count();
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/checks',
      headers: { ...h.auth(h.keys.write), 'content-type': 'application/json' },
      payload: JSON.stringify({ hesCode: 'A1B2C3D4E5', reference: 'x'.repeat(70 * 1024) }),
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(await h.db.prisma.check.count()).toBe(before);
  });

  it.each([
    [
      'application/json',
      JSON.stringify({ items: Array.from({ length: 5_000 }, () => ({ hesCode: 'A1B2C3D4E5' })) }),
    ],
    ['text/csv', `hesCode\n${'A1B2C3D4E5\n'.repeat(8_000)}`],
  ])('POST /v1/batches over API_BODY_LIMIT_BYTES (%s) is 413 and stores nothing', async (type, payload) => {
    const before = await h.db.prisma.batch.count();
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: { ...h.auth(h.keys.write), 'content-type': type },
      payload,
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(await h.db.prisma.batch.count()).toBe(before);
  });
});

describe('timeouts', () => {
  it('server.ts settings come from the configuration with safe defaults', () => {
    const config = loadApiConfig({});
    expect(serverTimeouts(config)).toEqual({
      requestTimeout: 120_000,
      headersTimeout: 30_000,
      connectionTimeout: 60_000,
      keepAliveTimeout: 72_000,
    });
    expect(() => loadApiConfig({ API_HEADERS_TIMEOUT_MS: '200000' })).toThrow(/API_HEADERS_TIMEOUT_MS/);
    // Shorter than a ?wait= of 10 s would cut off waiting turnstiles.
    expect(() => loadApiConfig({ API_CONNECTION_TIMEOUT_MS: '5000' })).toThrow(/API_CONNECTION_TIMEOUT_MS/);
  });

  it('a client trickling its headers (slowloris) is cut off with 408 by a listening server', async () => {
    const config = loadApiConfig({
      NODE_ENV: 'test',
      DATABASE_URL: h.db.url,
      REDIS_URL: h.redis.url,
      REDIS_PREFIX: h.redis.prefix,
      HES_DATA_KEY: Buffer.alloc(32, 7).toString('base64'),
      API_REQUEST_TIMEOUT_MS: '1000',
      API_HEADERS_TIMEOUT_MS: '1000',
    });
    const app = await buildApp(
      { config, prisma: h.db.prisma, queue: h.queue, redis: h.redis.connection, events: eventsStub() },
      { ...serverTimeouts(config), connectionsCheckingInterval: 100 },
    );
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      expect(app.server.requestTimeout).toBe(1000);
      expect(app.server.headersTimeout).toBe(1000);
      expect(app.server.keepAliveTimeout).toBe(72_000);
      expect(app.server.timeout).toBe(60_000);

      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk) => {
          data += chunk;
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(data));
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
        const drip = setInterval(() => {
          if (!socket.destroyed) socket.write('X-Slow: 1\r\n');
        }, 200);
        socket.on('close', () => clearInterval(drip));
        setTimeout(() => socket.destroy(), 8_000).unref();
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeLessThan(5_000);

      // A normal request on the same server is unaffected.
      const ok = await new Promise<number>((resolve, reject) => {
        httpRequest({ port, host: '127.0.0.1', path: '/healthz' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(ok).toBe(200);
    } finally {
      await app.close();
    }
  });
});

/** The listening test needs no ?wait=, so no second subscriber connection. */
function eventsStub() {
  return { start: async () => {}, close: async () => {}, waitFor: () => new Promise(() => {}) } as never;
}

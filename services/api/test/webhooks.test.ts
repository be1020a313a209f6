import { randomUUID } from 'node:crypto';
import { CodeVault, openWebhookSecret } from '@hes/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, DATA_KEY, startApi } from './helpers.js';

let h: ApiHarness;
const vault = new CodeVault(Buffer.from(DATA_KEY, 'base64'));
const RECEIVER = 'https://receiver.example.org/hes-events';

beforeAll(async () => {
  h = await startApi('webhooks', { WEBHOOK_ALLOW_HTTP: 'true' });
});
afterAll(() => h.close());

function create(payload: object, key = h.keys.readWrite) {
  return h.app.inject({ method: 'POST', url: '/v1/webhooks', headers: h.auth(key), payload });
}

const get = (url: string, key = h.keys.readWrite) =>
  h.app.inject({ method: 'GET', url, headers: h.auth(key) });
const post = (url: string, key = h.keys.readWrite) =>
  h.app.inject({ method: 'POST', url, headers: h.auth(key) });

async function keyIdOf(name: string): Promise<string> {
  return (await h.db.prisma.apiKey.findFirstOrThrow({ where: { name } })).id;
}

async function insertRoster(ownerName: string | null): Promise<string> {
  const id = randomUUID();
  const owner = ownerName ? await keyIdOf(ownerName) : null;
  await h.db.prisma.$executeRaw`
    INSERT INTO rosters (id, name, api_key_id) VALUES (${id}::uuid, ${`roster-${id}`}, ${owner}::uuid)`;
  return id;
}

async function submit(hesCode: string, extra: object = {}, key = h.keys.readWrite): Promise<string> {
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/checks',
    headers: h.auth(key),
    payload: { hesCode, ...extra },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}

describe('POST /v1/webhooks', () => {
  it('creates a webhook and shows its secret once, stored only encrypted', async () => {
    const res = await create({ url: RECEIVER });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      url: RECEIVER,
      events: ['check.completed', 'batch.completed'],
      rosterId: null,
      enabled: true,
      disabledAt: null,
    });
    expect(body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(res.headers.location).toBe(`/v1/webhooks/${body.id}`);
    expect(res.headers['cache-control']).toBe('no-store');

    const again = await get(`/v1/webhooks/${body.id}`);
    expect(again.statusCode).toBe(200);
    expect(again.json()).not.toHaveProperty('secret');
    expect(again.body).not.toContain(body.secret);
    const list = await get('/v1/webhooks');
    expect(list.body).not.toContain(body.secret);
    expect(list.json().items.map((w: { id: string }) => w.id)).toContain(body.id);

    const row = await h.db.prisma.webhook.findUniqueOrThrow({ where: { id: body.id } });
    expect(Buffer.from(row.secretCipher).toString('latin1')).not.toContain(body.secret);
    expect(openWebhookSecret(vault, body.id, row.secretCipher)).toBe(body.secret);
    // The ciphertext is bound to its row: another id cannot open it.
    expect(() => openWebhookSecret(vault, randomUUID(), row.secretCipher)).toThrow();
  });

  it.each([
    ['not a URL', 'receiver'],
    ['a relative URL', '/hooks'],
    ['another scheme', 'ftp://receiver.example.org/x'],
    ['credentials', 'https://user:pass@receiver.example.org/x'],
    ['a user name', 'https://user@receiver.example.org/x'],
    ['a fragment', 'https://receiver.example.org/x#frag'],
  ])('refuses %s with WEBHOOK_URL_INVALID', async (_what, url) => {
    const res = await create({ url });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().code).toBe('WEBHOOK_URL_INVALID');
    expect(await h.db.prisma.webhook.count({ where: { url } })).toBe(0);
  });

  it('refuses plain http unless WEBHOOK_ALLOW_HTTP=true', async () => {
    const strict = await h.buildExtra({ WEBHOOK_ALLOW_HTTP: 'false' });
    const res = await strict.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: h.auth(h.keys.readWrite),
      payload: { url: 'http://127.0.0.1:9/hook' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('WEBHOOK_URL_INVALID');
    const ok = await strict.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: h.auth(h.keys.readWrite),
      payload: { url: 'https://127.0.0.1:9/hook' },
    });
    expect(ok.statusCode).toBe(201);
    expect((await create({ url: 'http://127.0.0.1:9/hook' })).statusCode).toBe(201);
  });

  it('validates events and unknown fields', async () => {
    for (const payload of [
      { url: RECEIVER, events: [] },
      { url: RECEIVER, events: ['check.started'] },
      { url: RECEIVER, events: ['check.completed', 'check.completed'] },
      { url: RECEIVER, secret: 'mine' },
      { url: RECEIVER, rosterId: 'not-a-uuid' },
    ]) {
      const res = await create(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    const one = await create({ url: RECEIVER, events: ['batch.completed'] });
    expect(one.json().events).toEqual(['batch.completed']);
  });

  it('accepts an existing roster of the key and hides other keys’ rosters', async () => {
    const mine = await insertRoster('reader-writer');
    const theirs = await insertRoster('admin');
    const ok = await create({ url: RECEIVER, rosterId: mine });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().rosterId).toBe(mine);
    for (const rosterId of [theirs, randomUUID()]) {
      const res = await create({ url: RECEIVER, rosterId });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('ROSTER_NOT_FOUND');
    }
    // An admin may subscribe to any roster.
    expect((await create({ url: RECEIVER, rosterId: mine }, h.keys.admin)).statusCode).toBe(201);
  });
});

describe('OpenAPI', () => {
  it('documents every webhook route', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of [
      '/v1/webhooks',
      '/v1/webhooks/{id}',
      '/v1/webhooks/{id}/rotate-secret',
      '/v1/webhooks/{id}/deliveries',
      '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
      '/v1/webhooks/{id}/ping',
    ])
      expect(doc.paths, path).toHaveProperty([path]);
  });
});

describe('ownership and scopes', () => {
  it('needs checks:write to create and checks:read to read', async () => {
    expect((await create({ url: RECEIVER }, h.keys.read)).json().code).toBe('FORBIDDEN_SCOPE');
    const created = await create({ url: RECEIVER }, h.keys.write);
    expect(created.statusCode).toBe(201);
    expect((await get(`/v1/webhooks/${created.json().id}`, h.keys.write)).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'GET', url: '/v1/webhooks' })).statusCode).toBe(401);
  });

  it('lets a key see and manage only its own webhooks; admin sees all', async () => {
    const theirs = (await create({ url: RECEIVER }, h.keys.admin)).json().id as string;
    const mine = (await create({ url: RECEIVER })).json().id as string;
    const listed = (await get('/v1/webhooks')).json().items.map((w: { id: string }) => w.id);
    expect(listed).toContain(mine);
    expect(listed).not.toContain(theirs);
    for (const res of [
      await get(`/v1/webhooks/${theirs}`),
      await get(`/v1/webhooks/${theirs}/deliveries`),
      await post(`/v1/webhooks/${theirs}/ping`),
      await post(`/v1/webhooks/${theirs}/rotate-secret`),
      await h.app.inject({
        method: 'DELETE',
        url: `/v1/webhooks/${theirs}`,
        headers: h.auth(h.keys.readWrite),
      }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('WEBHOOK_NOT_FOUND');
    }
    const all = (await get('/v1/webhooks', h.keys.admin)).json().items.map((w: { id: string }) => w.id);
    expect(all).toEqual(expect.arrayContaining([mine, theirs]));
    expect((await get(`/v1/webhooks/${mine}`, h.keys.admin)).statusCode).toBe(200);
    expect((await get('/v1/webhooks/not-a-uuid')).json().code).toBe('WEBHOOK_NOT_FOUND');
  });

  it('deletes (204) and then knows nothing of it', async () => {
    const id = (await create({ url: RECEIVER })).json().id as string;
    const del = await h.app.inject({
      method: 'DELETE',
      url: `/v1/webhooks/${id}`,
      headers: h.auth(h.keys.readWrite),
    });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await get(`/v1/webhooks/${id}`)).statusCode).toBe(404);
  });

  it('rotates the secret: a new one, shown once, and the stored one replaced', async () => {
    const created = (await create({ url: RECEIVER })).json();
    const res = await post(`/v1/webhooks/${created.id}/rotate-secret`);
    expect(res.statusCode).toBe(200);
    const { secret } = res.json();
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(created.secret);
    const row = await h.db.prisma.webhook.findUniqueOrThrow({ where: { id: created.id } });
    expect(openWebhookSecret(vault, created.id, row.secretCipher)).toBe(secret);
    expect((await get(`/v1/webhooks/${created.id}`)).body).not.toContain(secret);
  });
});

describe('outbox and deliveries', () => {
  it('writes one check.completed per actionable final check of the key, and lists it with its attempts', async () => {
    // A fresh key, so webhooks of the other tests do not subscribe to these checks.
    const { createApiKey } = await import('@hes/core');
    const { key } = await createApiKey(h.db.prisma, {
      name: 'turnstile',
      scopes: ['checks:read', 'checks:write'],
    });
    const hook = (await create({ url: RECEIVER, events: ['check.completed'] }, key)).json();

    const risky = await submit('R1B2C3D4E5', { reference: 'emp-1' }, key);
    const riskless = await submit('A1B2C3D4E5', {}, key);
    const mismatch = await submit('B1B2C3D4E5', { identityLast3: '123' }, key);
    const failed = await submit('C1B2C3D4E5', {}, key);
    const otherKey = await submit('R9B2C3D4E5', {}, h.keys.admin);
    await h.completeCheck(risky, { outcome: 'RISKY' });
    await h.completeCheck(riskless, { outcome: 'RISKLESS' });
    await h.completeCheck(failed, { status: 'failed' });
    await h.completeCheck(otherKey, { outcome: 'RISKY' });
    await h.completeCheck(mismatch, { outcome: 'RISKLESS' });
    await h.db.prisma.check.update({ where: { id: mismatch }, data: { identityMatch: false } });
    // A second final write (a redelivered job) adds nothing.
    await h.db.prisma.check.update({ where: { id: risky }, data: { attempts: 2 } });

    const rows = await h.db.prisma.webhookDelivery.findMany({ where: { webhookId: hook.id } });
    expect(rows.map((r) => r.subjectId).sort()).toEqual([risky, failed].sort());
    expect(rows.every((r) => r.event === 'check.completed' && r.status === 'pending')).toBe(true);

    // identity_match set by a later statement than the final write is not an event (the worker writes
    // both at once); a final write that carries it is.
    const mismatch2 = await submit('D1B2C3D4E5', { identityLast3: '123' }, key);
    await h.db.prisma.check.update({
      where: { id: mismatch2 },
      data: {
        status: 'completed',
        outcome: 'RISKLESS',
        identityMatch: false,
        codeCipher: null,
        completedAt: new Date(),
      },
    });
    expect(
      await h.db.prisma.webhookDelivery.count({ where: { webhookId: hook.id, subjectId: mismatch2 } }),
    ).toBe(1);

    const page1 = await get(`/v1/webhooks/${hook.id}/deliveries?limit=2`, key);
    expect(page1.statusCode).toBe(200);
    const p1 = page1.json();
    expect(p1.items).toHaveLength(2);
    expect(p1.items[0]).toMatchObject({
      event: 'check.completed',
      status: 'pending',
      attemptCount: 0,
      attempts: [],
    });
    expect(p1.nextCursor).toEqual(expect.any(String));
    const p2 = (await get(`/v1/webhooks/${hook.id}/deliveries?limit=2&cursor=${p1.nextCursor}`, key)).json();
    const seen = [...p1.items, ...p2.items].map((d: { subjectId: string }) => d.subjectId);
    expect(seen.sort()).toEqual([risky, failed, mismatch2].sort());
    expect(p2.nextCursor).toBeNull();
    const newestFirst = [...p1.items, ...p2.items].map((d: { createdAt: string }) => d.createdAt);
    expect([...newestFirst].sort().reverse()).toEqual(newestFirst);

    const bad = await get(`/v1/webhooks/${hook.id}/deliveries?cursor=garbage`, key);
    expect(bad.json().code).toBe('INVALID_CURSOR');

    // Attempts recorded by the worker appear in order.
    const target = rows[0]!;
    await h.db.prisma.$executeRaw`
      INSERT INTO webhook_delivery_attempts (delivery_id, attempt, status_code, error, duration_ms)
      VALUES (${target.id}::uuid, 2, 200, NULL, 12), (${target.id}::uuid, 1, 500, 'HTTP 500', 30)`;
    await h.db.prisma.webhookDelivery.update({
      where: { id: target.id },
      data: { status: 'failed', attempts: 2, lastStatusCode: 500, lastError: 'HTTP 500' },
    });
    const listed = (await get(`/v1/webhooks/${hook.id}/deliveries?status=failed`, key)).json().items;
    expect(listed).toHaveLength(1);
    expect(
      listed[0].attempts.map((a: { attempt: number; statusCode: number }) => [a.attempt, a.statusCode]),
    ).toEqual([
      [1, 500],
      [2, 200],
    ]);
    expect(listed[0].attempts[0]).toMatchObject({
      error: 'HTTP 500',
      durationMs: 30,
      at: expect.any(String),
    });

    const re = await post(`/v1/webhooks/${hook.id}/deliveries/${target.id}/redeliver`, key);
    expect(re.statusCode).toBe(202);
    expect(re.json()).toMatchObject({
      id: target.id,
      status: 'pending',
      nextAttemptAt: null,
      attemptCount: 2,
    });
    expect((await post(`/v1/webhooks/${hook.id}/deliveries/${randomUUID()}/redeliver`, key)).statusCode).toBe(
      404,
    );
  });

  it('ping queues a ping delivery for the webhook', async () => {
    const hook = (await create({ url: RECEIVER })).json();
    const res = await post(`/v1/webhooks/${hook.id}/ping`);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ webhookId: hook.id, event: 'ping', status: 'pending', attempts: [] });
    const listed = (await get(`/v1/webhooks/${hook.id}/deliveries`)).json().items;
    expect(listed.map((d: { id: string }) => d.id)).toEqual([res.json().id]);
  });

  it('writes nothing when no webhook is enabled', async () => {
    await h.db.prisma.webhook.updateMany({ data: { disabledAt: new Date() } });
    const before = await h.db.prisma.webhookDelivery.count();
    const id = await submit('R7B2C3D4E5');
    await h.completeCheck(id, { outcome: 'RISKY' });
    expect(await h.db.prisma.webhookDelivery.count()).toBe(before);
    await h.db.prisma.webhook.updateMany({ data: { disabledAt: null } });
  });
});

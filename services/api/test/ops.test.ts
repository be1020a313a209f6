import { CheckEventHub, type ChecksQueue, createPrisma, createRedis, QUEUES } from '@hes/core';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadApiConfig } from '../src/config.js';
import { type ApiHarness, DATA_KEY, startApi } from './helpers.js';

let h: ApiHarness;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  h = await startApi('ops');
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await h.close();
});

const DEAD_REDIS = 'redis://127.0.0.1:1';
const DEAD_PG = 'postgresql://postgres@127.0.0.1:1/nowhere';

/** An app whose PostgreSQL and/or Redis (queue + readiness connection) point at closed ports. */
async function degradedApp(opts: { pgDown?: boolean; redisDown?: boolean }): Promise<FastifyInstance> {
  const databaseUrl = opts.pgDown ? DEAD_PG : h.db.url;
  const config = loadApiConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: h.redis.url,
    REDIS_PREFIX: h.redis.prefix,
    HES_DATA_KEY: DATA_KEY,
    LOG_LEVEL: 'silent',
  });
  const prisma = opts.pgDown ? createPrisma(DEAD_PG, { connectionTimeoutMillis: 500 }) : h.db.prisma;
  const redis = opts.redisDown
    ? createRedis(DEAD_REDIS, { name: 'dead', failFast: true })
    : h.redis.connection;
  redis.on('error', () => {});
  const queue: ChecksQueue = new Queue(QUEUES.checks, { connection: redis, prefix: h.redis.prefix });
  queue.on('error', () => {});
  const subscriber = createRedis(h.redis.url, { name: 'ops-events' });
  const events = new CheckEventHub(subscriber, h.redis.prefix);
  const app = await buildApp({ config, prisma, queue, redis, events });
  cleanups.push(
    () => app.close(),
    () => queue.close(),
    () => events.close(),
    async () => (opts.redisDown ? redis.disconnect() : undefined),
    async () => (opts.pgDown ? prisma.$disconnect() : undefined),
  );
  return app;
}

describe('health', () => {
  it('GET /healthz is 200 ok', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 when PostgreSQL and Redis answer', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      checks: { postgres: { status: 'ok' }, redis: { status: 'ok' } },
    });
  });

  it('GET /readyz is 503 naming PostgreSQL when it is down', async () => {
    const app = await degradedApp({ pgDown: true });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'unavailable',
      checks: { postgres: { status: 'failed' }, redis: { status: 'ok' } },
    });
  });

  it('GET /readyz is 503 naming Redis when it is down', async () => {
    const app = await degradedApp({ redisDown: true });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'unavailable',
      checks: { postgres: { status: 'ok' }, redis: { status: 'failed' } },
    });
  });
});

describe('degraded dependencies', () => {
  it('PostgreSQL down: requests are 503 SERVICE_UNAVAILABLE problems, not 500', async () => {
    const app = await degradedApp({ pgDown: true });
    for (const req of [
      { method: 'POST' as const, url: '/v1/checks', payload: { hesCode: 'A1B2C3D4E5' } },
      { method: 'GET' as const, url: '/v1/checks' },
    ]) {
      const res = await app.inject({ ...req, headers: h.auth(h.keys.admin) });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
      expect(res.body).not.toContain('127.0.0.1');
    }
  });

  it('Redis down: the check is still stored and acknowledged 202 (the reconciler re-drives it)', async () => {
    const app = await degradedApp({ redisDown: true });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/checks',
      headers: h.auth(h.keys.admin),
      payload: { hesCode: 'A1B2C3D4E5', reference: 'redis-down' },
    });
    expect(res.statusCode).toBe(202);
    const row = await h.db.prisma.check.findUniqueOrThrow({ where: { id: res.json().id } });
    expect(row).toMatchObject({ status: 'queued', reference: 'redis-down', jobId: `single-${row.id}` });
    expect(row.codeCipher).not.toBeNull();
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/hes_api_enqueue_failures_total\{source="single"\} 1/);

    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: h.auth(h.keys.admin),
      payload: { items: [{ hesCode: 'A1B2C3D4E5' }] },
    });
    expect(batch.statusCode).toBe(202);
  });
});

describe('metrics', () => {
  it('exposes request durations by route template and intake counters without codes or references', async () => {
    await h.app.inject({
      method: 'POST',
      url: '/v1/checks',
      headers: h.auth(h.keys.admin),
      payload: { hesCode: 'M1E2T3R4I5', reference: 'secret-ref' },
    });
    await h.app.inject({
      method: 'POST',
      url: '/v1/checks',
      headers: h.auth(h.keys.admin),
      payload: { hesCode: 'M1E2' },
    });
    const created = await h.app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: h.auth(h.keys.admin),
      payload: { kind: 'plus', items: [{ hesCode: 'M1E2T3R4I5' }, { hesCode: 'x' }] },
    });
    await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${created.json().id}`,
      headers: h.auth(h.keys.admin),
    });
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(
      /hes_api_http_request_duration_seconds_count\{method="POST",route="\/v1\/checks",status_code="202"\} \d+/,
    );
    expect(text).toMatch(
      /hes_api_http_request_duration_seconds_count\{method="GET",route="\/v1\/batches\/:id",status_code="200"\} 1/,
    );
    expect(text).toMatch(/hes_api_checks_accepted_total\{kind="standard",source="single"\} 1/);
    expect(text).toMatch(/hes_api_checks_accepted_total\{kind="plus",source="batch"\} 1/);
    expect(text).toMatch(/hes_api_checks_rejected_total\{reason="INVALID_HES_CODE"\} 2/);
    expect(text).toMatch(/process_cpu_seconds_total/);
    expect(text).not.toContain('M1E2T3R4I5');
    expect(text).not.toContain('secret-ref');
    expect(text).not.toContain(created.json().id);
  });
});

describe('OpenAPI', () => {
  it('GET /openapi.json documents every route with the bearer scheme', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /healthz',
        'GET /metrics',
        'GET /readyz',
        'GET /v1/batches',
        'GET /v1/batches/{id}',
        'GET /v1/batches/{id}/checks',
        'GET /v1/checks',
        'GET /v1/checks/{id}',
        'POST /v1/batches',
        'POST /v1/checks',
        'GET /v1/rosters',
        'POST /v1/rosters',
        'GET /v1/rosters/{id}',
        'PATCH /v1/rosters/{id}',
        'DELETE /v1/rosters/{id}',
        'GET /v1/rosters/{id}/items',
        'PUT /v1/rosters/{id}/items',
        'POST /v1/rosters/{id}/runs',
        'GET /v1/rosters/{id}/batches',
        'GET /v1/webhooks',
        'POST /v1/webhooks',
        'GET /v1/webhooks/{id}',
        'DELETE /v1/webhooks/{id}',
        'POST /v1/webhooks/{id}/rotate-secret',
        'GET /v1/webhooks/{id}/deliveries',
        'POST /v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
        'POST /v1/webhooks/{id}/ping',
      ].sort(),
    );
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    const post = doc.paths['/v1/checks'].post;
    expect(post.requestBody.content['application/json'].schema.properties).toHaveProperty('hesCode');
    expect(post.responses['422'].content['application/problem+json']).toBeDefined();
    expect(Object.keys(doc.paths['/v1/batches'].post.requestBody.content).sort()).toEqual([
      'application/json',
      'text/csv',
    ]);
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodeVault,
  createApiKey,
  createLogger,
  createRedis,
  generateWebhookSecret,
  sealWebhookSecret,
  verifyWebhookSignature,
} from '@hes/core';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@hes/core/testing';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../src/config.js';
import { webhookRetryDelayMs } from '../src/webhooks/backoff.js';
import { startWebhookRuntime, type WebhookRuntime } from '../src/webhooks/webhook-runtime.js';
import { LogSink } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DATA_KEY = randomBytes(32).toString('base64');
const vault = new CodeVault(Buffer.from(DATA_KEY, 'base64'));
const FULL_CODE = 'R4K7M2P9Q5';

let db: TestDatabase;
let redis: TestRedis;
let receiver: WebhookReceiver;
let apiKeyId: string;
const logs = new LogSink();
const running: { runtime: WebhookRuntime; connection: ReturnType<typeof createRedis> }[] = [];
const children: ChildProcess[] = [];

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    HES_DATA_KEY: DATA_KEY,
    WORKER_LOCK_DURATION_MS: '1000',
    WEBHOOK_BACKOFF_BASE_MS: '20',
    WEBHOOK_BACKOFF_MAX_MS: '100',
    WEBHOOK_POLL_INTERVAL_MS: '600000',
    ...extra,
  };
}

async function startRuntime(extra: Record<string, string> = {}) {
  const config = loadWorkerConfig(env(extra));
  const connection = createRedis(redis.url, { name: 'webhook-test' });
  const registry = new Registry();
  const runtime = await startWebhookRuntime({
    config,
    prisma: db.prisma,
    logger: createLogger({ name: 'webhook-test', level: 'debug', destination: logs.stream }),
    vault,
    registry,
    connection,
  });
  running.push({ runtime, connection });
  return { runtime, registry };
}

async function stopAll() {
  for (const { runtime, connection } of running.splice(0)) {
    await runtime.close(true).catch(() => undefined);
    await connection.quit().catch(() => undefined);
  }
}

async function createWebhook(options: { url?: string; events?: string[]; rosterId?: string } = {}) {
  const id = randomUUID();
  const secret = generateWebhookSecret();
  await db.prisma.webhook.create({
    data: {
      id,
      url: options.url ?? receiver.url(),
      events: options.events ?? ['check.completed', 'batch.completed'],
      apiKeyId,
      rosterId: options.rosterId ?? null,
      secretCipher: sealWebhookSecret(vault, id, secret),
    },
  });
  return { id, secret };
}

/** A pending check of the test key, its code encrypted as the API stores it. */
async function insertCheck(batchId: string | null = null): Promise<string> {
  const id = randomUUID();
  await db.prisma.check.create({
    data: {
      id,
      kind: 'standard',
      codeMasked: vault.mask(FULL_CODE),
      codeHmac: vault.hmac(FULL_CODE),
      codeCipher: vault.encrypt(FULL_CODE, id),
      reference: 'employee-7',
      apiKeyId: batchId ? null : apiKeyId,
      batchId,
    },
  });
  return id;
}

/** The worker's final write, as one UPDATE (the outbox trigger fires on it). */
async function finish(ids: string[], outcome: 'RISKY' | 'RISKLESS' = 'RISKY') {
  await db.prisma.$executeRaw`
    UPDATE checks SET status = 'completed', outcome = ${outcome}::"CheckOutcome", code_cipher = NULL,
      masked_identity_number = '********712', completed_at = now()
    WHERE id = ANY(${ids}::uuid[])`;
}

const delivery = (webhookId: string) =>
  db.prisma.webhookDelivery.findFirstOrThrow({
    where: { webhookId },
    include: { attemptsLog: { orderBy: { attempt: 'asc' } } },
  });

beforeAll(async () => {
  [db, redis, receiver] = await Promise.all([
    createTestDatabase('worker-webhooks'),
    createTestRedis('worker-webhooks'),
    WebhookReceiver.start(),
  ]);
  apiKeyId = (await createApiKey(db.prisma, { name: 'turnstile', scopes: ['checks:read'] })).id;
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await stopAll();
  receiver.respond = () => 200;
  receiver.received.length = 0;
  await db.prisma.webhook.deleteMany();
});

afterAll(async () => {
  await receiver.close();
  await redis.close();
  await db.drop();
});

describe('webhook delivery', () => {
  it('POSTs a signed check.completed that the exported verifier accepts, and nothing else', async () => {
    await startRuntime(); // poll interval 10 min: this delivery can only come through LISTEN/NOTIFY
    const hook = await createWebhook();
    const checkId = await insertCheck();
    await finish([checkId]);

    const got = await waitFor(() => receiver.received[0], { timeoutMs: 10_000 });
    const d = await waitFor(async () => {
      const row = await delivery(hook.id);
      return row.status === 'delivered' && row;
    });
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['hes-webhook-id']).toBe(d.id);
    expect(got.headers['hes-webhook-event']).toBe('check.completed');
    const timestamp = got.headers['hes-webhook-timestamp'] as string;
    const signature = got.headers['hes-webhook-signature'] as string;
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(30);

    const verify = (over: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
      verifyWebhookSignature({ secret: hook.secret, rawBody: got.rawBody, timestamp, signature, ...over });
    expect(verify({})).toEqual({ ok: true });
    // The documented scheme, recomputed independently of the library.
    const expected = createHmac('sha256', hook.secret).update(`${timestamp}.${got.rawBody}`).digest('hex');
    expect(signature).toBe(`v1=${expected}`);
    expect(verify({ rawBody: Buffer.from(got.rawBody) })).toEqual({ ok: true });
    expect(verify({ rawBody: got.rawBody.replace('RISKY', 'RISKLESS') })).toEqual({
      ok: false,
      reason: 'SIGNATURE_MISMATCH',
    });
    expect(verify({ rawBody: `${got.rawBody} ` }).ok).toBe(false);
    expect(verify({ secret: generateWebhookSecret() })).toEqual({ ok: false, reason: 'SIGNATURE_MISMATCH' });
    expect(verify({ timestamp: String(Number(timestamp) - 1) })).toEqual({
      ok: false,
      reason: 'SIGNATURE_MISMATCH',
    });
    // A captured delivery replayed after the window is refused even though its signature is valid.
    expect(verify({ now: Number(timestamp) + 301 })).toEqual({
      ok: false,
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
    });
    expect(verify({ now: Number(timestamp) + 299 })).toEqual({ ok: true });
    expect(verify({ signature: undefined })).toEqual({ ok: false, reason: 'MALFORMED' });

    const body = JSON.parse(got.rawBody);
    expect(body).toMatchObject({
      id: d.id,
      type: 'check.completed',
      createdAt: d.createdAt.toISOString(),
      data: {
        check: {
          id: checkId,
          hesCode: vault.mask(FULL_CODE),
          status: 'completed',
          outcome: 'RISKY',
          reference: 'employee-7',
        },
      },
    });
    expect(got.rawBody).not.toContain(FULL_CODE);
    // The stored body is what was sent: retries and redeliveries send these very bytes.
    expect(JSON.parse(got.rawBody)).toEqual(d.payload);

    expect(d).toMatchObject({ attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    expect(d.deliveredAt).toBeInstanceOf(Date);
    expect(d.attemptsLog).toMatchObject([{ attempt: 1, statusCode: 200, error: null }]);
    expect(receiver.received).toHaveLength(1);
    expect(logs.text).not.toContain(FULL_CODE);
    expect(logs.text).not.toContain(hook.secret);
  });

  it('retries a failing receiver with backoff and sends the same body each time', async () => {
    receiver.respond = (_r, i) => (i < 3 ? 503 : 200);
    const { registry } = await startRuntime();
    const hook = await createWebhook();
    await finish([await insertCheck()]);

    const d = await waitFor(
      async () => {
        const row = await delivery(hook.id);
        return row.status === 'delivered' && row;
      },
      { timeoutMs: 15_000 },
    );
    expect(d.attempts).toBe(4);
    expect(d.attemptsLog.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
      [1, 503, 'HTTP 503'],
      [2, 503, 'HTTP 503'],
      [3, 503, 'HTTP 503'],
      [4, 200, null],
    ]);
    expect(receiver.received).toHaveLength(4);
    expect(new Set(receiver.received.map((r) => r.rawBody)).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.headers['hes-webhook-id'])).size).toBe(1);
    for (const r of receiver.received) {
      const ok = verifyWebhookSignature({
        secret: hook.secret,
        rawBody: r.rawBody,
        timestamp: r.headers['hes-webhook-timestamp'] as string,
        signature: r.headers['hes-webhook-signature'] as string,
      });
      expect(ok).toEqual({ ok: true });
    }
    const metrics = await registry.metrics();
    expect(metrics).toContain('hes_webhook_deliveries_total{event="check.completed",result="retried"} 3');
    expect(metrics).toContain('hes_webhook_deliveries_total{event="check.completed",result="delivered"} 1');
    expect(metrics).toContain('hes_webhook_deliveries_pending 0');
    expect(metrics).toMatch(/hes_webhook_delivery_duration_seconds_count\{event="check.completed"\} 4/);
  });

  it('gives up after WEBHOOK_MAX_ATTEMPTS and marks the delivery failed', async () => {
    receiver.respond = () => 500;
    const { registry } = await startRuntime({ WEBHOOK_MAX_ATTEMPTS: '3' });
    const hook = await createWebhook();
    await finish([await insertCheck()]);

    const d = await waitFor(
      async () => {
        const row = await delivery(hook.id);
        return row.status === 'failed' && row;
      },
      { timeoutMs: 15_000 },
    );
    expect(d).toMatchObject({ attempts: 3, lastStatusCode: 500, lastError: 'HTTP 500', nextAttemptAt: null });
    expect(d.attemptsLog).toHaveLength(3);
    expect(await registry.metrics()).toContain(
      'hes_webhook_deliveries_total{event="check.completed",result="failed"} 1',
    );
    // Nothing more is sent once it failed for good.
    const sent = receiver.received.length;
    expect(sent).toBe(3);
  });

  it('records timeouts and refused connections as failed attempts without a status', async () => {
    receiver.respond = () => 'hang';
    await startRuntime({ WEBHOOK_MAX_ATTEMPTS: '2', WEBHOOK_TIMEOUT_MS: '300' });
    const hung = await createWebhook();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const refused = await createWebhook({ url: 'http://127.0.0.1:9/hook' });
    await finish([await insertCheck()]);
    const failed = (id: string) =>
      waitFor(
        async () => {
          const row = await delivery(id);
          return row.status === 'failed' && row;
        },
        { timeoutMs: 15_000 },
      );
    const d = await failed(hung.id);
    expect(d.attemptsLog.map((a) => a.statusCode)).toEqual([null, null]);
    expect(d.lastError).toMatch(/timeout|abort/i);
    expect(d.attemptsLog.every((a) => a.durationMs >= 250 && a.durationMs < 5_000)).toBe(true);
    const r = await failed(refused.id);
    expect(r.attemptsLog.map((a) => a.statusCode)).toEqual([null, null]);
    expect(r.lastError).toMatch(/ECONNREFUSED/);
  });

  it('disables the webhook when the receiver answers 410 Gone', async () => {
    receiver.respond = () => 410;
    await startRuntime();
    const hook = await createWebhook();
    await finish([await insertCheck()]);
    const d = await waitFor(async () => {
      const row = await delivery(hook.id);
      return row.status === 'failed' && row;
    });
    expect(d.attempts).toBe(1);
    expect((await db.prisma.webhook.findUniqueOrThrow({ where: { id: hook.id } })).disabledAt).toBeInstanceOf(
      Date,
    );
    // A disabled webhook subscribes to nothing.
    await finish([await insertCheck()]);
    expect(await db.prisma.webhookDelivery.count({ where: { webhookId: hook.id } })).toBe(1);
  });

  it('abandons a delivery whose secret the data key cannot open, without sending it', async () => {
    await startRuntime();
    const hook = await createWebhook();
    const foreign = new CodeVault(randomBytes(32));
    await db.prisma.webhook.update({
      where: { id: hook.id },
      data: { secretCipher: sealWebhookSecret(foreign, hook.id, hook.secret) },
    });
    await finish([await insertCheck()]);
    const d = await waitFor(async () => {
      const row = await delivery(hook.id);
      return row.status === 'failed' && row;
    });
    expect(d.lastError).toMatch(/cannot be decrypted/);
    expect(receiver.received).toHaveLength(0);
  });

  it('delivers after a worker is killed mid-delivery and another one takes over', async () => {
    const hook = await createWebhook({ events: ['check.completed'] });
    receiver.respond = (_r, i) => (i === 0 ? 'hang' : 200);
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(root, 'services/worker/src/main.ts')],
      {
        env: { ...process.env, ...env({ WORKER_METRICS_PORT: '0', LOG_LEVEL: 'warn' }) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // The child dispatches at start: the row may be committed before or after it listens.
    await finish([await insertCheck()]);
    await waitFor(() => receiver.received.length === 1 || child.exitCode !== null, { timeoutMs: 30_000 });
    expect(child.exitCode, stderr).toBeNull();
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    receiver.releaseHanging();
    expect((await delivery(hook.id)).status).toBe('pending');

    await startRuntime();
    const d = await waitFor(
      async () => {
        const row = await delivery(hook.id);
        return row.status === 'delivered' && row;
      },
      { timeoutMs: 20_000 },
    );
    expect(receiver.received).toHaveLength(2);
    // The same event (same id, same body) the first worker was sending.
    expect(receiver.received[1]!.headers['hes-webhook-id']).toBe(d.id);
    expect(receiver.received[1]!.rawBody).toBe(receiver.received[0]!.rawBody);
  });

  it('delivers rows committed while no worker was running (dispatch at start)', async () => {
    const hook = await createWebhook();
    await finish([await insertCheck()]);
    await startRuntime();
    await waitFor(async () => (await delivery(hook.id)).status === 'delivered');
  });

  it('sends ping and batch.completed with the batch counts', async () => {
    await startRuntime();
    const hook = await createWebhook();
    const batchId = randomUUID();
    await db.prisma.batch.create({ data: { id: batchId, kind: 'standard', total: 3, apiKeyId } });
    const ids = [await insertCheck(batchId), await insertCheck(batchId), await insertCheck(batchId)];
    await finish(ids.slice(0, 2), 'RISKY');
    await finish(ids.slice(2), 'RISKLESS');
    await db.prisma
      .$executeRaw`UPDATE batches SET status = 'completed', completed_at = now() WHERE id = ${batchId}::uuid`;
    // A second completion (the reconciler's sweep) is no second event.
    await db.prisma.$executeRaw`UPDATE batches SET status = 'completed' WHERE id = ${batchId}::uuid`;

    await waitFor(() => receiver.received.length === 3, { timeoutMs: 10_000 });
    const bodies = receiver.received.map((r) => JSON.parse(r.rawBody));
    const batch = bodies.find((b) => b.type === 'batch.completed');
    expect(batch.data.batch).toMatchObject({
      id: batchId,
      status: 'completed',
      total: 3,
      counts: { completed: 3, failed: 0, queued: 0, processing: 0 },
      outcomes: { RISKY: 2, RISKLESS: 1 },
    });
    // Roster checks reach their key through the batch: both RISKY ones, not the RISKLESS one.
    expect(
      bodies
        .filter((b) => b.type === 'check.completed')
        .map((b) => b.data.check.id)
        .sort(),
    ).toEqual(ids.slice(0, 2).sort());

    const pingId = randomUUID();
    await db.prisma.$executeRaw`
      INSERT INTO webhook_deliveries (id, webhook_id, event, subject_id)
      VALUES (${pingId}::uuid, ${hook.id}::uuid, 'ping', ${pingId}::uuid)`;
    await db.prisma.$executeRaw`SELECT pg_notify('hes_webhooks', '')`;
    const ping = await waitFor(() =>
      receiver.received.find((r) => r.headers['hes-webhook-event'] === 'ping'),
    );
    expect(JSON.parse(ping.rawBody)).toMatchObject({
      id: pingId,
      type: 'ping',
      data: { webhookId: hook.id },
    });
  });
});

describe('outbox triggers', () => {
  it('insert nothing while no webhook is enabled, even for a large statement', async () => {
    const batchId = randomUUID();
    await db.prisma.batch.create({ data: { id: batchId, kind: 'standard', total: 2000, apiKeyId } });
    await db.prisma.$executeRaw`
      INSERT INTO checks (kind, code_masked, batch_id, status, outcome, completed_at)
      SELECT 'standard', 'R1******E5', ${batchId}::uuid,
             CASE WHEN i % 2 = 0 THEN 'completed' ELSE 'queued' END::"CheckStatus",
             CASE WHEN i % 2 = 0 THEN 'INVALID' END::"CheckOutcome", now()
      FROM generate_series(1, 2000) AS i`;
    await db.prisma.$executeRaw`
      UPDATE checks SET status = 'completed', outcome = 'RISKY' WHERE batch_id = ${batchId}::uuid AND status = 'queued'`;
    await db.prisma.$executeRaw`UPDATE batches SET status = 'completed' WHERE id = ${batchId}::uuid`;
    expect(await db.prisma.webhookDelivery.count()).toBe(0);

    // A disabled webhook is the same as none.
    const hook = await createWebhook();
    await db.prisma.webhook.update({ where: { id: hook.id }, data: { disabledAt: new Date() } });
    await finish([await insertCheck()]);
    expect(await db.prisma.webhookDelivery.count()).toBe(0);
  });

  it('write one row per subscriber for checks final at birth and for roster webhooks', async () => {
    const rosterId = randomUUID();
    await db.prisma.$executeRaw`INSERT INTO rosters (id, name) VALUES (${rosterId}::uuid, 'night shift')`;
    const byKey = await createWebhook();
    const byRoster = await createWebhook({ rosterId, events: ['check.completed'] });
    const batchId = randomUUID();
    await db.prisma.batch.create({ data: { id: batchId, kind: 'standard', total: 4, apiKeyId, rosterId } });
    await db.prisma.$executeRaw`
      INSERT INTO checks (kind, code_masked, batch_id, status, outcome, completed_at)
      SELECT 'standard', 'XX******XX', ${batchId}::uuid,
             CASE WHEN i <= 2 THEN 'completed' ELSE 'queued' END::"CheckStatus",
             CASE WHEN i <= 2 THEN 'INVALID' END::"CheckOutcome", CASE WHEN i <= 2 THEN now() END
      FROM generate_series(1, 4) AS i`;
    const count = (webhookId: string, event: string) =>
      db.prisma.webhookDelivery.count({ where: { webhookId, event } });
    expect(await count(byKey.id, 'check.completed')).toBe(2);
    expect(await count(byRoster.id, 'check.completed')).toBe(2);
    await db.prisma.$executeRaw`
      UPDATE checks SET status = 'failed', error_code = 'UPSTREAM_UNAVAILABLE'
      WHERE batch_id = ${batchId}::uuid AND status = 'queued'`;
    await db.prisma.$executeRaw`UPDATE batches SET status = 'completed' WHERE id = ${batchId}::uuid`;
    expect(await count(byKey.id, 'check.completed')).toBe(4);
    expect(await count(byRoster.id, 'check.completed')).toBe(4);
    expect(await count(byKey.id, 'batch.completed')).toBe(1);
    expect(await count(byRoster.id, 'batch.completed')).toBe(0); // not subscribed to it
  });
});

describe('webhook backoff', () => {
  const policy = { baseMs: 2_000, maxMs: 3_600_000 };
  it('doubles per retry with equal jitter, never immediate, capped', () => {
    expect([1, 2, 3, 4].map((n) => webhookRetryDelayMs(n, policy, () => 0))).toEqual([
      1_000, 2_000, 4_000, 8_000,
    ]);
    expect([1, 2, 3, 4].map((n) => webhookRetryDelayMs(n, policy, () => 0.999_999))).toEqual([
      1_999, 3_999, 7_999, 15_999,
    ]);
    expect(webhookRetryDelayMs(30, policy, () => 0.999_999)).toBeLessThanOrEqual(3_600_000);
    expect(webhookRetryDelayMs(30, policy, () => 0)).toBe(1_800_000);
  });

  it("honours a receiver's Retry-After up to the cap", () => {
    expect(webhookRetryDelayMs(1, policy, () => 0, 60_000)).toBe(60_000);
    expect(webhookRetryDelayMs(1, policy, () => 0, 10 * 3_600_000)).toBe(3_600_000);
  });
});

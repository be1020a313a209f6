/**
 * Webhooks end to end (issue 7): the real API registers a webhook, a mixed roster runs through the real
 * worker against the sandbox Ministry, and a real HTTP receiver gets exactly the events a turnstile
 * needs: one signed `check.completed` per check that is not a clean RISKLESS, one `batch.completed`
 * with the roster's counts, and not one full HES code.
 */
import { verifyWebhookSignature } from '@hes/core';
import { generateSandboxCodes, sandboxIdentityLast3 } from '@hes/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceivedWebhook, WebhookReceiver } from '../services/worker/test/webhook-receiver.js';
import { type Stack, startStack, waitFor } from './support/stack.js';

let stack: Stack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await WebhookReceiver.start();
  stack = await startStack('webhooks', {
    env: {
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_BACKOFF_BASE_MS: '20',
      WEBHOOK_BACKOFF_MAX_MS: '200',
      WEBHOOK_POLL_INTERVAL_MS: '1000',
      HES_RATE_LIMIT_RPS: '100',
    },
  });
  await stack.startWorker();
});

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

async function api(method: 'GET' | 'POST', url: string, payload?: object) {
  const res = await stack.api.inject({
    method,
    url,
    headers: stack.headers,
    ...(payload ? { payload } : {}),
  });
  return { status: res.statusCode, body: res.json() };
}

function verified(r: ReceivedWebhook, secret: string) {
  return verifyWebhookSignature({
    secret,
    rawBody: r.rawBody,
    timestamp: r.headers['hes-webhook-timestamp'] as string | undefined,
    signature: r.headers['hes-webhook-signature'] as string | undefined,
  });
}

const wrongLast3 = (code: string) => String((Number(sandboxIdentityLast3(code)) + 1) % 1000).padStart(3, '0');

describe('webhooks end to end', () => {
  it('delivers one signed check.completed per non-RISKLESS check and one batch.completed', async () => {
    const created = await api('POST', '/v1/webhooks', { url: receiver.url('/turnstile') });
    expect(created.status).toBe(201);
    const { id: webhookId, secret } = created.body;

    const [risky1, risky2] = generateSandboxCodes('RISKY', 2, 71);
    const [notFound] = generateSandboxCodes('NOT_FOUND', 1, 72);
    const [expired] = generateSandboxCodes('EXPIRED', 1, 73);
    const [clean1, clean2, clean3, mismatch] = generateSandboxCodes('RISKLESS', 4, 74);
    const items = [
      { hesCode: risky1!, reference: 'risky-1' },
      { hesCode: risky2!, reference: 'risky-2', identityLast3: sandboxIdentityLast3(risky2!) },
      { hesCode: notFound!, reference: 'not-found' },
      { hesCode: expired!, reference: 'expired' },
      { hesCode: 'NOT-A-CODE', reference: 'invalid' },
      { hesCode: clean1!, reference: 'clean-1' },
      { hesCode: clean2!, reference: 'clean-2', identityLast3: sandboxIdentityLast3(clean2!) },
      { hesCode: clean3!, reference: 'clean-3' },
      { hesCode: mismatch!, reference: 'mismatch', identityLast3: wrongLast3(mismatch!) },
    ];
    const fullCodes = items.map((i) => i.hesCode).filter((c) => c !== 'NOT-A-CODE');
    const batch = await api('POST', '/v1/batches', { items });
    expect(batch.status).toBe(202);
    const batchId = batch.body.id as string;

    const expectedRefs = ['risky-1', 'risky-2', 'not-found', 'expired', 'invalid', 'mismatch'];
    await waitFor(() => receiver.received.length >= expectedRefs.length + 1, {
      timeoutMs: 30_000,
      message: 'every event delivered',
    });
    const final = await waitFor(async () => {
      const b = await api('GET', `/v1/batches/${batchId}`);
      return b.body.status === 'completed' && b.body;
    });
    // Let anything that should not have been sent arrive before counting.
    await waitFor(
      async () =>
        (await stack.db.prisma.webhookDelivery.count({
          where: { webhookId, status: { not: 'delivered' } },
        })) === 0,
      { timeoutMs: 20_000 },
    );

    for (const r of receiver.received) {
      expect(r.path).toBe('/turnstile');
      expect(verified(r, secret)).toEqual({ ok: true });
      for (const code of fullCodes) expect(r.rawBody).not.toContain(code);
    }
    const bodies = receiver.received.map((r) => JSON.parse(r.rawBody));
    const checkEvents = bodies.filter((b) => b.type === 'check.completed');
    const refs = checkEvents.map((b) => b.data.check.reference).sort();
    expect(refs).toEqual([...expectedRefs].sort()); // exactly one each, no RISKLESS match
    const byRef = Object.fromEntries(checkEvents.map((b) => [b.data.check.reference, b.data.check]));
    expect(byRef['risky-1']).toMatchObject({ status: 'completed', outcome: 'RISKY', batchId });
    expect(byRef['risky-2']).toMatchObject({ outcome: 'RISKY', identityMatch: true });
    expect(byRef['not-found']).toMatchObject({ outcome: 'NOT_FOUND' });
    expect(byRef.expired).toMatchObject({ outcome: 'EXPIRED' });
    expect(byRef.invalid).toMatchObject({ outcome: 'INVALID' });
    expect(byRef.mismatch).toMatchObject({ outcome: 'RISKLESS', identityMatch: false });
    expect(byRef['risky-1'].hesCode).toBe(`${risky1!.slice(0, 2)}******${risky1!.slice(8)}`);
    for (const b of bodies)
      expect(receiver.received.find((r) => r.headers['hes-webhook-id'] === b.id)).toBeTruthy();

    const batchEvents = bodies.filter((b) => b.type === 'batch.completed');
    expect(batchEvents).toHaveLength(1);
    expect(batchEvents[0].data.batch).toMatchObject({
      id: batchId,
      status: 'completed',
      total: items.length,
      counts: final.counts,
      outcomes: { RISKY: 2, NOT_FOUND: 1, EXPIRED: 1, INVALID: 1, RISKLESS: 4 },
    });
    expect(receiver.received).toHaveLength(expectedRefs.length + 1);

    const deliveries = await api('GET', `/v1/webhooks/${webhookId}/deliveries?limit=100`);
    expect(deliveries.status).toBe(200);
    expect(deliveries.body.items).toHaveLength(expectedRefs.length + 1);
    for (const d of deliveries.body.items) {
      expect(d).toMatchObject({ status: 'delivered', attemptCount: 1, lastStatusCode: 200 });
      expect(d.attempts).toMatchObject([{ attempt: 1, statusCode: 200, error: null }]);
    }
    expect(JSON.stringify(deliveries.body)).not.toContain(secret);

    // What the gateway keeps and logs of it: stored bodies, attempts and log lines hold no full code
    // and no secret.
    const stored = await stack.db.prisma.$queryRaw<{ j: string }[]>`
      SELECT row_to_json(d)::text AS j FROM webhook_deliveries AS d
      UNION ALL SELECT row_to_json(a)::text FROM webhook_delivery_attempts AS a
      UNION ALL SELECT row_to_json(w)::text FROM webhooks AS w`;
    expect(stored.length).toBeGreaterThan(expectedRefs.length);
    const haystack = [...stored.map((r) => r.j), ...stack.logs].join('\n');
    for (const code of fullCodes) expect(haystack).not.toContain(code);
    expect(haystack).not.toContain(secret);
  });

  it('sends a stored roster’s events to the roster’s webhook', async () => {
    const [risky] = generateSandboxCodes('RISKY', 1, 81);
    const [clean] = generateSandboxCodes('RISKLESS', 1, 82);
    const roster = await api('POST', '/v1/rosters', {
      name: 'night shift',
      items: [
        { hesCode: risky!, reference: 'night-risky' },
        { hesCode: clean!, reference: 'night-clean' },
        { hesCode: 'BROKEN', reference: 'night-invalid' },
      ],
    });
    expect(roster.status).toBe(201);
    const hook = await api('POST', '/v1/webhooks', {
      url: receiver.url('/roster'),
      rosterId: roster.body.id,
    });
    expect(hook.status).toBe(201);
    const run = await api('POST', `/v1/rosters/${roster.body.id}/runs`);
    expect(run.status).toBe(202);

    const atRoster = () => receiver.received.filter((r) => r.path === '/roster');
    await waitFor(() => atRoster().length >= 3, { timeoutMs: 30_000, message: 'roster events' });
    await waitFor(
      async () =>
        (await stack.db.prisma.webhookDelivery.count({
          where: { webhookId: hook.body.id, status: { not: 'delivered' } },
        })) === 0,
    );
    const bodies = atRoster().map((r) => {
      expect(verified(r, hook.body.secret)).toEqual({ ok: true });
      return JSON.parse(r.rawBody);
    });
    expect(bodies).toHaveLength(3);
    expect(
      bodies
        .filter((b) => b.type === 'check.completed')
        .map((b) => b.data.check.reference)
        .sort(),
    ).toEqual(['night-invalid', 'night-risky']);
    const done = bodies.find((b) => b.type === 'batch.completed');
    expect(done.data.batch).toMatchObject({
      id: run.body.id,
      rosterId: roster.body.id,
      total: 3,
      outcomes: { RISKY: 1, RISKLESS: 1, INVALID: 1 },
    });
  });

  it('a scheduled roster runs by itself and its signed batch.completed arrives (issue 7, done-when)', async () => {
    const [risky] = generateSandboxCodes('RISKY', 1, 91);
    const [clean] = generateSandboxCodes('RISKLESS', 1, 92);
    const roster = await api('POST', '/v1/rosters', {
      name: 'every few seconds',
      items: [
        { hesCode: risky!, reference: 'sched-risky' },
        { hesCode: clean!, reference: 'sched-clean' },
      ],
    });
    expect(roster.status).toBe(201);
    const hook = await api('POST', '/v1/webhooks', {
      url: receiver.url('/scheduled'),
      rosterId: roster.body.id,
    });
    expect(hook.status).toBe(201);
    // Nobody asks for a run: the schedule (six-field cron, every 3 s, Istanbul time) makes it.
    const patched = await stack.api.inject({
      method: 'PATCH',
      url: `/v1/rosters/${roster.body.id}`,
      headers: stack.headers,
      payload: { schedule: { cron: '*/3 * * * * *' } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().schedule).toMatchObject({ timeZone: 'Europe/Istanbul' });

    const completed = () =>
      receiver.received.filter(
        (r) => r.path === '/scheduled' && JSON.parse(r.rawBody).type === 'batch.completed',
      );
    await waitFor(() => completed().length >= 1, {
      timeoutMs: 30_000,
      message: 'a scheduled batch.completed',
    });
    // Stop the schedule before asserting, so later fires do not race the assertions.
    await stack.api.inject({
      method: 'PATCH',
      url: `/v1/rosters/${roster.body.id}`,
      headers: stack.headers,
      payload: { schedule: null },
    });

    const first = completed()[0]!;
    expect(verified(first, hook.body.secret)).toEqual({ ok: true });
    const body = JSON.parse(first.rawBody);
    expect(body.data.batch).toMatchObject({
      rosterId: roster.body.id,
      trigger: 'schedule',
      status: 'completed',
      total: 2,
      outcomes: { RISKY: 1, RISKLESS: 1 },
    });
    const riskyEvents = receiver.received.filter(
      (r) =>
        r.path === '/scheduled' &&
        JSON.parse(r.rawBody).type === 'check.completed' &&
        JSON.parse(r.rawBody).data.check.batchId === body.data.batch.id,
    );
    expect(riskyEvents.map((r) => JSON.parse(r.rawBody).data.check)).toEqual([
      expect.objectContaining({
        reference: 'sched-risky',
        outcome: 'RISKY',
        hesCode: expect.stringContaining('*'),
      }),
    ]);
    expect(verified(riskyEvents[0]!, hook.body.secret)).toEqual({ ok: true });
  });

  it('shows a ping that failed three times and then arrived as four attempts', async () => {
    const { body: hook } = await api('POST', '/v1/webhooks', {
      url: receiver.url('/flaky'),
      events: ['batch.completed'],
    });
    let flaky = 0;
    receiver.respond = (r) => (r.path === '/flaky' && flaky++ < 3 ? 503 : 200);
    const ping = await api('POST', `/v1/webhooks/${hook.id}/ping`);
    expect(ping.status).toBe(202);

    const delivered = await waitFor(
      async () => {
        const { body } = await api('GET', `/v1/webhooks/${hook.id}/deliveries`);
        return body.items[0]?.status === 'delivered' && body.items[0];
      },
      { timeoutMs: 20_000 },
    );
    expect(delivered).toMatchObject({ event: 'ping', attemptCount: 4, lastStatusCode: 200, lastError: null });
    expect(delivered.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([503, 503, 503, 200]);
    const pings = receiver.received.filter((r) => r.path === '/flaky');
    expect(pings).toHaveLength(4);
    for (const r of pings) expect(verified(r, hook.secret)).toEqual({ ok: true });

    // Redelivery sends the same event again (same id, same body), freshly signed.
    const re = await api('POST', `/v1/webhooks/${hook.id}/deliveries/${delivered.id}/redeliver`);
    expect(re.status).toBe(202);
    await waitFor(() => receiver.received.filter((r) => r.path === '/flaky').length === 5);
    const again = receiver.received.filter((r) => r.path === '/flaky').at(-1)!;
    expect(again.headers['hes-webhook-id']).toBe(delivered.id);
    expect(again.rawBody).toBe(pings[0]!.rawBody);
    expect(verified(again, hook.secret)).toEqual({ ok: true });
  });
});

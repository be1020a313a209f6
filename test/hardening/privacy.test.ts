/**
 * Issue 6 §4: after a mixed workload (every kind, waits, idempotent replays, JSON and CSV rosters with
 * malformed lines, refused requests, codes in URLs), no full HES code is anywhere: database, Redis,
 * log lines, API and worker metric samples, or any answer. Then the retention purge removes exactly
 * what is past the period.
 */
import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { WorkerRuntime } from '@hes/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDatabase, dumpRedis, leakedCodes, type Stack, startStack, waitFor } from '../support/stack.js';

const ALPHABET = 'ABCDEFGHJKLMNPRSTUVYZ0123456789';
const randomCode = () => Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
const dashed = (c: string) => `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8)}`;

let stack: Stack;
let worker: WorkerRuntime;
const submitted: string[] = [];
const answers: string[] = [];
/** Every webhook request as it arrived (headers and body): what an integrator's system would store. */
const hookRequests: string[] = [];
let receiver: Server;
let receiverUrl: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hookRequests.push(JSON.stringify(req.headers), Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  if (address === null || typeof address === 'string') throw new Error('receiver has no port');
  receiverUrl = `http://127.0.0.1:${address.port}/hook`;
  stack = await startStack('privacy', { env: { WEBHOOK_ALLOW_HTTP: 'true' } });
  worker = await stack.startWorker();
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await new Promise((resolve) => receiver?.close(resolve));
}, 60_000);

async function send(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await stack.api.inject({
    method,
    url,
    headers: {
      ...stack.headers,
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(payload !== undefined
      ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }
      : {}),
  });
  answers.push(res.body, JSON.stringify(res.headers));
  return res;
}

describe('privacy audit', () => {
  it('leaves no full HES code in the database, Redis, logs, metrics or answers', async () => {
    const code = () => {
      const c = randomCode();
      submitted.push(c);
      return c;
    };
    /** A code whose first letter picks the sandbox's outcome (R risky, N not found, E expired). */
    const codeWith = (first: 'R' | 'N' | 'E') => {
      const c = `${first}${randomCode().slice(1)}`;
      submitted.push(c);
      return c;
    };
    const ids: string[] = [];
    for (const kind of ['standard', 'employee', 'plus'] as const) {
      const res = await send('POST', '/v1/checks?wait=3000', {
        hesCode: dashed(code()),
        kind,
        identityLast3: '792',
      });
      expect([200, 202]).toContain(res.statusCode);
      ids.push(res.json().id);
    }
    const visitor = await send('POST', '/v1/checks', {
      hesCode: `scanner-prefix ${code()}`,
      kind: 'visitor',
      visit: { city: 'Ankara', district: 'Çankaya', address: 'Atatürk Blv. 1' },
    });
    expect(visitor.statusCode).toBe(202);
    ids.push(visitor.json().id);

    // An idempotent replay, and the same key with another body (422).
    const idem = code();
    const first = await send('POST', '/v1/checks', { hesCode: idem }, { 'idempotency-key': 'privacy-1' });
    await send('POST', '/v1/checks', { hesCode: idem }, { 'idempotency-key': 'privacy-1' });
    const reused = await send('POST', '/v1/checks', { hesCode: code() }, { 'idempotency-key': 'privacy-1' });
    expect(reused.statusCode).toBe(422);
    ids.push(first.json().id);

    // Refused requests that carry a well-formed code next to a bad field.
    expect((await send('POST', '/v1/checks', { hesCode: code(), identityLast3: 'abc' })).statusCode).toBe(
      400,
    );
    expect((await send('POST', '/v1/checks', { hesCode: code(), kind: 'visitor' })).statusCode).toBe(400);
    expect((await send('POST', '/v1/checks', { hesCode: code(), reference: 'a\u0000' })).statusCode).toBe(
      400,
    );
    // Codes in URLs are not echoed.
    expect((await send('GET', `/v1/checks/${code()}`)).statusCode).toBe(404);
    expect((await send('GET', `/v1/batches/${code()}/checks`)).statusCode).toBe(404);

    // Rosters: JSON with malformed lines, CSV with BOM and CRLF.
    const roster = Array.from({ length: 20 }, (_, i) => ({ hesCode: code(), reference: `p-${i}` }));
    roster.push({ hesCode: `${code()}X`.slice(0, 9), reference: 'short' });
    const json = await send('POST', '/v1/batches', { kind: 'standard', items: roster });
    expect(json.statusCode).toBe(202);
    const csvCodes = Array.from({ length: 10 }, () => code());
    const csv = await send(
      'POST',
      '/v1/batches?kind=plus',
      `\ufeffhesCode,reference,identityLast3\r\n${csvCodes.map((c, i) => `${dashed(c)},c-${i},792`).join('\r\n')}\r\n`,
      { 'content-type': 'text/csv' },
    );
    expect(csv.statusCode).toBe(202);
    const batchIds = [json.json().id as string, csv.json().id as string];

    // Stored rosters (codes kept encrypted between runs) and a webhook that receives every non-RISKLESS
    // outcome: the integrator's copy must hold masked codes only.
    const hook = await send('POST', '/v1/webhooks', { url: receiverUrl });
    expect(hook.statusCode).toBe(201);
    const stored = await send('POST', '/v1/rosters', {
      name: 'privacy roster',
      items: [
        { hesCode: codeWith('R'), reference: 'risky-1' },
        { hesCode: codeWith('N'), reference: 'missing-1' },
        { hesCode: dashed(code()), reference: 'ok-1', identityLast3: '000' },
        { hesCode: code().slice(0, 8), reference: 'malformed' },
      ],
    });
    expect(stored.statusCode).toBe(201);
    const rosterId = stored.json().id as string;
    const replaced = await send(
      'PUT',
      `/v1/rosters/${rosterId}/items`,
      `hesCode,reference,identityLast3\r\n${[code(), code(), codeWith('E')].map((c, i) => `${dashed(c)},r-${i},792`).join('\r\n')}\r\n`,
      { 'content-type': 'text/csv' },
    );
    expect(replaced.statusCode).toBe(200);
    const run = await send('POST', `/v1/rosters/${rosterId}/runs`);
    expect(run.statusCode).toBe(202);
    await send('GET', `/v1/rosters/${rosterId}/items`);
    await send('GET', `/v1/rosters/${rosterId}/batches`);

    await waitFor(
      async () => {
        const pending = await stack.db.prisma.check.count({
          where: { status: { in: ['queued', 'processing'] } },
        });
        return pending === 0 ? true : null;
      },
      { timeoutMs: 45_000, message: 'checks did not all become final' },
    );
    await waitFor(
      async () =>
        (await stack.db.prisma.webhookDelivery.count({ where: { status: 'pending' } })) === 0 || null,
      { timeoutMs: 30_000, message: 'webhook deliveries did not all finish' },
    );
    // The workload did produce events (RISKY, NOT_FOUND, EXPIRED, INVALID, mismatches, batch.completed).
    expect(hookRequests.length).toBeGreaterThan(6);
    await send('GET', `/v1/webhooks/${hook.json().id}/deliveries?limit=100`);
    for (const id of ids) await send('GET', `/v1/checks/${id}`);
    for (const id of batchIds) {
      await send('GET', `/v1/batches/${id}`);
      await send('GET', `/v1/batches/${id}/checks?limit=500`);
      await send('GET', `/v1/batches/${id}/checks`, undefined, { accept: 'text/csv' });
    }
    await send('GET', '/v1/checks?limit=500');

    const apiMetrics = (await stack.api.inject({ method: 'GET', url: '/metrics' })).body;
    const workerMetrics = await worker.metrics.registry.metrics();
    // The scanner is only as good as its input: the haystacks must be the real ones.
    expect(apiMetrics).toContain('hes_api_checks_accepted_total');
    expect(workerMetrics).toContain('hes_worker_checks_completed_total');
    expect(stack.logs.length).toBeGreaterThan(10);

    expect(leakedCodes(submitted, await dumpDatabase(stack.db)), 'database').toEqual([]);
    expect(leakedCodes(submitted, await dumpRedis(stack.redis)), 'redis').toEqual([]);
    const leakedInLogs = leakedCodes(submitted, stack.logs);
    expect(
      leakedInLogs,
      stack.logs
        .filter((l) => leakedInLogs.some((c) => l.toUpperCase().replaceAll('-', '').includes(c)))
        .join('\n')
        .slice(0, 3000),
    ).toEqual([]);
    expect(leakedCodes(submitted, [apiMetrics]), 'api metrics').toEqual([]);
    expect(leakedCodes(submitted, [workerMetrics]), 'worker metrics').toEqual([]);
    expect(leakedCodes(submitted, answers), 'answers').toEqual([]);
    expect(leakedCodes(submitted, hookRequests), 'webhook requests').toEqual([]);
    expect(await stack.db.prisma.rosterItem.count(), 'stored roster items are in the dump').toBe(3);
    // Sanity: the scanner does see the codes when they are there.
    expect(leakedCodes(submitted, [submitted.join(' ')]).length).toBe(new Set(submitted).size);
  }, 90_000);
});

describe('retention purge', () => {
  it('removes exactly the final checks, emptied batches and idempotency records past the period', async () => {
    const DAY = 86_400_000;
    const now = new Date('2027-06-01T12:00:00Z');
    const cutoff = now.getTime() - 30 * DAY;
    const make = async (reference: string) =>
      (await send('POST', '/v1/checks', { hesCode: randomCode(), reference })).json().id as string;
    const ages: [string, Date | null, 'completed' | 'failed' | 'queued'][] = [
      ['old-completed', new Date(cutoff - 1), 'completed'],
      ['old-failed', new Date(cutoff - 5 * DAY), 'failed'],
      ['at-cutoff', new Date(cutoff), 'completed'],
      ['recent', new Date(cutoff + DAY), 'completed'],
      ['old-pending', null, 'queued'],
    ];
    const idOf: Record<string, string> = {};
    for (const [ref] of ages) idOf[ref] = await make(`retention-${ref}`);
    await waitFor(
      async () =>
        (await stack.db.prisma.check.count({
          where: { reference: { startsWith: 'retention-' }, status: { in: ['queued', 'processing'] } },
        })) === 0 || null,
      { timeoutMs: 30_000, message: 'retention seed checks did not complete' },
    );
    // The audit's rows completed today, long before `now`'s cutoff: move them inside the period so
    // only the seeded rows decide what is purged.
    await stack.db.prisma.check.updateMany({
      where: { completedAt: { not: null } },
      data: { completedAt: new Date(cutoff + 2 * DAY) },
    });
    for (const [ref, completedAt, status] of ages) {
      await stack.db.prisma.check.update({
        where: { id: idOf[ref]! },
        data: { status, completedAt, createdAt: new Date(cutoff - 60 * DAY) },
      });
    }
    const batches = await stack.db.prisma.batch.findMany({ select: { id: true } });
    const [emptyOld, fullOld] = [batches[0]!.id, batches[1]!.id];
    await stack.db.prisma.check.deleteMany({ where: { batchId: emptyOld } });
    await stack.db.prisma.batch.updateMany({
      where: { id: { in: [emptyOld, fullOld] } },
      data: { completedAt: new Date(cutoff - DAY), status: 'completed' },
    });
    await stack.db.prisma.batch.updateMany({
      where: { id: { notIn: [emptyOld, fullOld] } },
      data: { completedAt: new Date(cutoff + DAY) },
    });
    await stack.db.prisma.idempotencyRecord.updateMany({ data: { createdAt: new Date(cutoff - DAY) } });
    const idemCount = await stack.db.prisma.idempotencyRecord.count();
    const checksBefore = await stack.db.prisma.check.count();

    const report = await worker.purgeNow(now);
    expect(report.cutoff.getTime()).toBe(cutoff);
    expect(report.checks).toBe(2);
    expect(report.batches).toBe(1);
    expect(report.idempotencyRecords).toBe(idemCount);
    expect(await stack.db.prisma.check.count()).toBe(checksBefore - 2);
    const left = new Set(
      (await stack.db.prisma.check.findMany({ where: { reference: { startsWith: 'retention-' } } })).map(
        (r) => r.reference,
      ),
    );
    expect([...left].sort()).toEqual(['retention-at-cutoff', 'retention-old-pending', 'retention-recent']);
    expect(await stack.db.prisma.batch.findUnique({ where: { id: emptyOld } })).toBeNull();
    expect(await stack.db.prisma.batch.findUnique({ where: { id: fullOld } })).not.toBeNull();
    // A second run finds nothing more.
    expect(await worker.purgeNow(now)).toMatchObject({ checks: 0, batches: 0, idempotencyRecords: 0 });
  }, 60_000);
});

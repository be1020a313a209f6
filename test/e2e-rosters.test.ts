/**
 * Scheduled rosters end to end (issue 7): the real API stores a roster and its schedule, BullMQ's job
 * scheduler fires in the real Redis, the in-process worker turns each fire into a batch whose checks
 * the sandbox Ministry answers over HTTP. Also: a redelivered fire makes no second batch, schedules come
 * back after a Redis prefix flush (re-synchronised from PostgreSQL), time zones are honoured, and no
 * full code reaches the database, Redis or the logs.
 */
import { nextCronRun, QUEUES, type RosterJobName, type RosterRunJob } from '@hes/core';
import { generateSandboxCodes } from '@hes/sandbox';
import type { WorkerRuntime } from '@hes/worker';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDatabase, dumpRedis, leakedCodes, type Stack, startStack, waitFor } from './support/stack.js';

let stack: Stack;
let worker: WorkerRuntime;
let rosterQueue: Queue<RosterRunJob, unknown, RosterJobName>;
const submitted: string[] = [];

/** The roster with a plain five-field cron for the next minute, created first so its wait overlaps the rest. */
let minute: { id: string; fireAt: Date };

const dashed = (c: string) => `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8)}`;

function codes(seed: number) {
  const riskless = generateSandboxCodes('RISKLESS', 2, seed);
  const risky = generateSandboxCodes('RISKY', 1, seed);
  submitted.push(...riskless, ...risky);
  return [
    { hesCode: dashed(riskless[0]!), reference: `p-${seed}-1` },
    { hesCode: riskless[1]!.toLowerCase(), reference: `p-${seed}-2` },
    { hesCode: risky[0]!, reference: `p-${seed}-3` },
    { hesCode: 'not-a-code', reference: `p-${seed}-4` },
  ];
}

async function api(method: string, url: string, payload?: unknown) {
  const res = await stack.api.inject({
    method: method as 'GET',
    url,
    headers: stack.headers,
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? res.json() : null };
}

async function createRoster(
  name: string,
  schedule: { cron: string; timeZone?: string } | null,
  seed: number,
) {
  const res = await api('POST', '/v1/rosters', { name, schedule, items: codes(seed) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; schedule: { nextRunAt: string } | null };
}

const scheduledBatches = (rosterId: string) =>
  stack.db.prisma.batch.findMany({
    where: { rosterId, trigger: 'schedule' },
    orderBy: { scheduledFor: 'asc' },
  });

async function expectCompleted(batchId: string) {
  const batch = await waitFor(
    async () => {
      const res = await api('GET', `/v1/batches/${batchId}`);
      return res.body.status === 'completed' ? res.body : null;
    },
    { timeoutMs: 20_000, message: `batch ${batchId} completed` },
  );
  expect(batch).toMatchObject({
    total: 4,
    counts: { queued: 0, processing: 0, completed: 4, failed: 0 },
    outcomes: { RISKLESS: 2, RISKY: 1, INVALID: 1 },
  });
  return batch;
}

/** Hour and minute of `at` on Istanbul's clock. */
function istanbulClock(at: Date) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Istanbul',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { hour: get('hour'), minute: get('minute') };
}

beforeAll(async () => {
  stack = await startStack('rosters', {
    env: { HES_RATE_LIMIT_RPS: '100', RECONCILE_INTERVAL_MS: '1000', RECONCILE_STALE_MS: '3000' },
  });
  worker = await stack.startWorker();
  rosterQueue = new Queue(QUEUES.rosters, { connection: stack.redis.connection, prefix: stack.redis.prefix });

  // The next whole minute, unless it is too close to set up in time; then the one after.
  const now = Date.now();
  let fireAt = new Date(Math.ceil((now + 1) / 60_000) * 60_000);
  if (fireAt.getTime() - now < 8_000) fireAt = new Date(fireAt.getTime() + 60_000);
  const { hour, minute: m } = istanbulClock(fireAt);
  const roster = await createRoster('next minute', { cron: `${m} ${hour} * * *` }, 10);
  expect(roster.schedule!.nextRunAt).toBe(fireAt.toISOString());
  minute = { id: roster.id, fireAt };
}, 60_000);

afterAll(async () => {
  await rosterQueue?.close();
  await stack?.close();
});

describe('scheduled rosters', () => {
  it('a six-field schedule fires within seconds; each fire is one batch that completes through the sandbox', async () => {
    const roster = await createRoster('every five seconds', { cron: '*/5 * * * * *' }, 20);
    const first = await waitFor(async () => (await scheduledBatches(roster.id))[0], {
      timeoutMs: 12_000,
      message: 'a scheduled batch',
    });
    expect(first!.scheduledFor!.getTime() % 5_000).toBe(0);
    expect(first!.apiKeyId).not.toBeNull();
    const view = await expectCompleted(first!.id);
    expect(view).toMatchObject({ rosterId: roster.id, trigger: 'schedule' });
    const checks = await stack.db.prisma.check.findMany({
      where: { batchId: first!.id },
      orderBy: { seq: 'asc' },
    });
    expect(checks.map((c) => c.reference)).toEqual(['p-20-1', 'p-20-2', 'p-20-3', 'p-20-4']);
    expect(checks.every((c) => c.codeCipher === null)).toBe(true);

    // A second fire is a second batch, five seconds later.
    const two = await waitFor(
      async () => {
        const b = await scheduledBatches(roster.id);
        return b.length >= 2 ? b : null;
      },
      { timeoutMs: 12_000 },
    );
    expect(two[1]!.scheduledFor!.getTime() - two[0]!.scheduledFor!.getTime()).toBe(5_000);
    expect((await api('GET', `/v1/rosters/${roster.id}`)).body.lastRunAt).not.toBeNull();

    // The same fire delivered again (what a stalled-then-retried job looks like) makes no batch.
    const fire = first!.scheduledFor!.getTime();
    const again = await rosterQueue.add(
      'scheduled-run',
      { rosterId: roster.id },
      { jobId: `repeat:redelivery-${roster.id}:${fire}` },
    );
    await waitFor(async () => (await again.getState()) === 'completed', { timeoutMs: 10_000 });
    expect(again.id).toBeDefined();
    expect(await rosterQueue.getJob(again.id!).then((j) => j?.returnvalue)).toBe('duplicate');
    const after = await scheduledBatches(roster.id);
    const fires = after.map((b) => b.scheduledFor!.getTime());
    expect(new Set(fires).size).toBe(fires.length);
    expect(fires.filter((f) => f === fire)).toHaveLength(1);

    // Removing the schedule stops the fires.
    await api('PATCH', `/v1/rosters/${roster.id}`, { schedule: null });
    expect(await rosterQueue.getJobScheduler(roster.id)).toBeUndefined();
  });

  it('schedules survive a Redis flush: the worker re-creates them from PostgreSQL', async () => {
    const roster = await createRoster('after flush', { cron: '*/2 * * * * *', timeZone: 'UTC' }, 30);
    await waitFor(async () => (await scheduledBatches(roster.id)).length > 0, { timeoutMs: 10_000 });
    // In sync already: nothing is upserted (an upsert would replace a fire that is due but not yet taken).
    const quiet = await worker.rosters.syncSchedules();
    expect(quiet).toMatchObject({ upserted: 0, removed: 0 });
    expect(quiet.unchanged).toBeGreaterThanOrEqual(1);

    await stack.redis.flush();
    const flushedAt = Date.now();
    expect(await rosterQueue.getJobScheduler(roster.id)).toBeUndefined();
    // The maintenance pass (every second here) puts the scheduler back ...
    const scheduler = await waitFor(() => rosterQueue.getJobScheduler(roster.id), { timeoutMs: 10_000 });
    expect(scheduler).toMatchObject({ pattern: '*/2 * * * * *', tz: 'UTC' });
    // ... and it fires again; the batch completes (checks lost with the flush are re-driven too).
    const fresh = await waitFor(
      async () => (await scheduledBatches(roster.id)).find((b) => b.scheduledFor!.getTime() > flushedAt),
      { timeoutMs: 15_000, message: 'a fire after the flush' },
    );
    await expectCompleted(fresh.id);
    await api('DELETE', `/v1/rosters/${roster.id}`);
    expect(await rosterQueue.getJobScheduler(roster.id)).toBeUndefined();

    // A scheduler whose next job vanished would never fire again: the synchronisation re-creates it.
    const daily = await createRoster('broken chain', { cron: '0 9 * * *' }, 31);
    const { next } = (await rosterQueue.getJobScheduler(daily.id))!;
    const jobId = `repeat:${daily.id}:${next}`;
    const conn = stack.redis.connection;
    await conn.zrem(`${stack.redis.prefix}:${QUEUES.rosters}:delayed`, jobId);
    await conn.del(`${stack.redis.prefix}:${QUEUES.rosters}:${jobId}`);
    expect(await rosterQueue.getJob(jobId)).toBeUndefined();
    expect((await worker.rosters.syncSchedules()).upserted).toBe(1);
    expect(await rosterQueue.getJob(jobId).then((j) => j?.getState())).toBe('delayed');

    // An orphan scheduler (no roster row) is removed by the same synchronisation.
    await rosterQueue.upsertJobScheduler(
      '00000000-0000-4000-8000-00000000abcd' as RosterJobName,
      { pattern: '0 0 1 1 *' },
      { name: 'scheduled-run', data: { rosterId: '00000000-0000-4000-8000-00000000abcd' } },
    );
    const report = await worker.rosters.syncSchedules();
    expect(report.removed).toBeGreaterThanOrEqual(1);
    expect(await rosterQueue.getJobScheduler('00000000-0000-4000-8000-00000000abcd')).toBeUndefined();
  });

  it('a scheduled run of an empty roster is skipped with a log line, and makes no batch', async () => {
    const res = await api('POST', '/v1/rosters', { name: 'nobody yet', schedule: { cron: '* * * * * *' } });
    expect(res.status).toBe(201);
    const skipped = () =>
      stack.logs.filter((l) => l.includes(res.body.id) && l.includes('roster has no items; run skipped'));
    await waitFor(() => skipped().length > 0, { timeoutMs: 5_000 });
    await api('PATCH', `/v1/rosters/${res.body.id}`, { schedule: null });
    expect(await stack.db.prisma.batch.count({ where: { rosterId: res.body.id } })).toBe(0);
    expect((await api('GET', `/v1/rosters/${res.body.id}`)).body.lastRunAt).toBeNull();
  });

  it('a roster whose codes cannot be decrypted fails its run at once, without retries or a partial batch', async () => {
    const roster = await createRoster('tampered', null, 60);
    // Swap two ciphertexts: each is bound to its row (AAD = roster id and position), so neither opens.
    await stack.db.prisma.$executeRawUnsafe(
      `UPDATE roster_items a SET code_cipher = b.code_cipher FROM roster_items b
       WHERE a.roster_id = b.roster_id AND a.roster_id = $1::uuid AND a.position = 0 AND b.position = 1`,
      roster.id,
    );
    const job = await rosterQueue.add('manual-run', { rosterId: roster.id }, { attempts: 3 });
    await waitFor(async () => (await job.getState()) === 'failed', { timeoutMs: 10_000 });
    const failed = (await rosterQueue.getJob(job.id!))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toBe('roster items cannot be decrypted');
    expect(await stack.db.prisma.batch.count({ where: { rosterId: roster.id } })).toBe(0);
    expect(await stack.db.prisma.check.count({ where: { reference: { startsWith: 'p-60-' } } })).toBe(0);
  });

  it('a manual run completes through the sandbox', async () => {
    const roster = await createRoster('by hand', null, 40);
    const run = await api('POST', `/v1/rosters/${roster.id}/runs`);
    expect(run.status).toBe(202);
    expect(run.body).toMatchObject({ trigger: 'manual', rosterId: roster.id });
    await expectCompleted(run.body.id);
    const history = await api('GET', `/v1/rosters/${roster.id}/batches`);
    expect(history.body.items).toHaveLength(1);
    expect(history.body.items[0]).toMatchObject({ id: run.body.id, status: 'completed' });
  });

  it('the time zone is honoured: 09:00 in Istanbul is 06:00 UTC, and BullMQ agrees with the API', async () => {
    const ist = await createRoster('nine istanbul', { cron: '0 9 * * *' }, 50);
    const utc = await createRoster('nine utc', { cron: '0 9 * * *', timeZone: 'UTC' }, 51);
    expect(ist.schedule!.nextRunAt).toMatch(/T06:00:00\.000Z$/);
    expect(utc.schedule!.nextRunAt).toMatch(/T09:00:00\.000Z$/);
    expect(ist.schedule!.nextRunAt).toBe(nextCronRun('0 9 * * *', 'Europe/Istanbul').toISOString());
    // The scheduler's next fire (its score in Redis) is the time the API showed.
    expect((await rosterQueue.getJobScheduler(ist.id))!.next).toBe(Date.parse(ist.schedule!.nextRunAt));
    expect((await rosterQueue.getJobScheduler(utc.id))!.next).toBe(Date.parse(utc.schedule!.nextRunAt));
  });

  it('a five-field cron for the next minute fires once, by itself', async () => {
    const [batch] = await waitFor(
      async () => {
        const b = await scheduledBatches(minute.id);
        return b.length > 0 ? b : null;
      },
      { timeoutMs: Math.max(5_000, minute.fireAt.getTime() - Date.now() + 15_000), intervalMs: 250 },
    );
    expect(batch!.scheduledFor!.toISOString()).toBe(minute.fireAt.toISOString());
    await expectCompleted(batch!.id);
    expect(await scheduledBatches(minute.id)).toHaveLength(1);
    // Next fire is the same time tomorrow.
    expect((await rosterQueue.getJobScheduler(minute.id))!.next).toBe(minute.fireAt.getTime() + 86_400_000);
  }, 90_000);

  it('no full code in the database (rosters included), Redis or any log line', async () => {
    const rosterRows = await stack.db.prisma.$queryRawUnsafe<{ j: string }[]>(
      'SELECT row_to_json(x)::text AS j FROM roster_items x UNION ALL SELECT row_to_json(r)::text FROM rosters r',
    );
    expect(rosterRows.length).toBeGreaterThan(0);
    expect(
      leakedCodes(
        submitted,
        rosterRows.map((r) => r.j),
      ),
    ).toEqual([]);
    expect(leakedCodes(submitted, await dumpDatabase(stack.db))).toEqual([]);
    expect(leakedCodes(submitted, await dumpRedis(stack.redis))).toEqual([]);
    expect(stack.logs.some((l) => l.includes('roster run created a batch'))).toBe(true);
    expect(leakedCodes(submitted, stack.logs)).toEqual([]);
  });
});

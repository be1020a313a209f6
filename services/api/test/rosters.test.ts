import {
  CodeVault,
  nextCronRun,
  QUEUES,
  type RosterJobName,
  type RosterRunJob,
  rosterItemAad,
} from '@hes/core';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, DATA_KEY, startApi } from './helpers.js';

let h: ApiHarness;
let rosters: Queue<RosterRunJob, unknown, RosterJobName>;
const vault = new CodeVault(Buffer.from(DATA_KEY, 'base64'));
const MAX_ITEMS = 12_000;

beforeAll(async () => {
  h = await startApi('rosters', { BATCH_MAX_ITEMS: String(MAX_ITEMS) });
  rosters = new Queue(QUEUES.rosters, { connection: h.redis.connection, prefix: h.redis.prefix });
});
afterAll(async () => {
  await rosters?.close();
  await h.close();
});

const code = (i: number) => `S${String(i).padStart(9, '0')}`;
let names = 0;
const uniqueName = () => `roster ${++names}`;

type Body = Record<string, unknown>;
function call(method: string, url: string, payload?: unknown, key = h.keys.readWrite, headers = {}) {
  return h.app.inject({
    method: method as 'GET',
    url,
    headers: { ...h.auth(key), ...headers },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
}

async function create(body: Body) {
  const res = await call('POST', '/v1/rosters', { name: uniqueName(), ...body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; itemCount: number; schedule: unknown; name: string };
}

/** Every full code submitted must appear nowhere in what the API answers. */
function expectNoCodes(body: string, codes: readonly string[]) {
  for (const c of codes) expect(body).not.toContain(c);
}

describe('POST /v1/rosters', () => {
  it('stores items encrypted (AAD per position), masked and HMACed; malformed codes kept masked only', async () => {
    const items = [
      { hesCode: 'A1B2-C3D4-E5', reference: 'emp-1', identityLast3: '792' },
      { hesCode: 'not a code', reference: 'emp-2' },
      { hesCode: code(3) },
    ];
    const res = await call('POST', '/v1/rosters', { name: 'Night shift', kind: 'employee', items });
    expect(res.statusCode, res.body).toBe(201);
    const roster = res.json();
    expect(res.headers.location).toBe(`/v1/rosters/${roster.id}`);
    expect(roster).toMatchObject({
      name: 'Night shift',
      kind: 'employee',
      itemCount: 3,
      schedule: null,
      lastRunAt: null,
    });
    expectNoCodes(res.body, ['A1B2C3D4E5', code(3)]);

    const rows = await h.db.prisma.rosterItem.findMany({
      where: { rosterId: roster.id },
      orderBy: { position: 'asc' },
    });
    expect(rows.map((r) => [r.position, r.reference, r.identityLast3])).toEqual([
      [0, 'emp-1', '792'],
      [1, 'emp-2', null],
      [2, null, null],
    ]);
    expect(vault.decrypt(rows[0]!.codeCipher!, rosterItemAad(roster.id, 0))).toBe('A1B2C3D4E5');
    expect(() => vault.decrypt(rows[0]!.codeCipher!, rosterItemAad(roster.id, 2))).toThrow();
    expect(rows[0]!.codeHmac).toBe(vault.hmac('A1B2C3D4E5'));
    expect(rows[0]!.codeMasked).toBe('A1******E5');
    expect(rows[1]).toMatchObject({ codeCipher: null, codeHmac: null });
    expect(rows[1]!.codeMasked).not.toContain('NOTACODE');
    const stored = JSON.stringify(
      await h.db.prisma.$queryRawUnsafe('SELECT row_to_json(r)::text FROM roster_items r'),
    );
    expectNoCodes(stored, ['A1B2C3D4E5', code(3)]);
  });

  it('a schedule gets Istanbul time by default, a job scheduler and its next run', async () => {
    const before = new Date();
    const roster = await create({ schedule: { cron: '30 7 * * 1-5' } });
    expect(roster.schedule).toEqual({
      cron: '30 7 * * 1-5',
      timeZone: 'Europe/Istanbul',
      nextRunAt: nextCronRun('30 7 * * 1-5', 'Europe/Istanbul', before).toISOString(),
    });
    // 07:30 in Istanbul (UTC+3, no DST) is 04:30 UTC.
    expect((roster.schedule as { nextRunAt: string }).nextRunAt).toMatch(/T04:30:00\.000Z$/);
    const scheduler = await rosters.getJobScheduler(roster.id);
    expect(scheduler).toMatchObject({
      pattern: '30 7 * * 1-5',
      tz: 'Europe/Istanbul',
      name: 'scheduled-run',
    });
    expect(scheduler!.template?.data).toEqual({ rosterId: roster.id });
    // The roster row is the record of the schedule.
    expect(await h.db.prisma.roster.findUnique({ where: { id: roster.id } })).toMatchObject({
      cron: '30 7 * * 1-5',
      timeZone: 'Europe/Istanbul',
    });
  });

  it('honours the time zone given', async () => {
    const utc = await create({ schedule: { cron: '30 7 * * *', timeZone: 'UTC' } });
    expect((utc.schedule as { nextRunAt: string }).nextRunAt).toMatch(/T07:30:00\.000Z$/);
    expect(await rosters.getJobScheduler(utc.id)).toMatchObject({ tz: 'UTC' });
  });

  it.each([
    ['61 * * * *', 'INVALID_CRON'],
    ['hello world', 'INVALID_CRON'],
    ['* *', 'INVALID_CRON'],
    ['* * * * * * *', 'INVALID_CRON'],
    ['0 0 31 2 *', 'INVALID_CRON'],
  ])('cron %j is 400 %s and nothing is stored', async (cron, problem) => {
    const name = uniqueName();
    const res = await call('POST', '/v1/rosters', { name, schedule: { cron } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code: problem });
    expect(await h.db.prisma.roster.count({ where: { name } })).toBe(0);
  });

  it('an unknown time zone is 400 INVALID_TIME_ZONE', async () => {
    const res = await call('POST', '/v1/rosters', {
      name: uniqueName(),
      schedule: { cron: '0 8 * * *', timeZone: 'Mars/Olympus_Mons' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_TIME_ZONE' });
  });

  it('names are unique: 409 ROSTER_NAME_TAKEN', async () => {
    const first = await create({});
    const res = await call('POST', '/v1/rosters', { name: first.name });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'ROSTER_NAME_TAKEN' });
  });

  it('bad items are a 400 with their paths; too many are 413 BATCH_TOO_LARGE; a visitor roster needs a visit', async () => {
    const bad = await call('POST', '/v1/rosters', {
      name: uniqueName(),
      items: [{ hesCode: code(1), identityLast3: '12' }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const extra = await call('POST', '/v1/rosters', { name: uniqueName(), colour: 'red' });
    expect(extra.statusCode).toBe(400);
    const tooMany = await call('POST', '/v1/rosters', {
      name: uniqueName(),
      items: Array.from({ length: MAX_ITEMS + 1 }, (_, i) => ({ hesCode: code(i) })),
    });
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json()).toMatchObject({ code: 'BATCH_TOO_LARGE', limit: MAX_ITEMS });
    const csv = await call('POST', '/v1/rosters', 'hesCode\nA1B2C3D4E5\n', h.keys.readWrite, {
      'content-type': 'text/csv',
    });
    expect(csv.statusCode).toBe(415);
    expect(csv.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const visitor = await call('POST', '/v1/rosters', { name: uniqueName(), kind: 'visitor' });
    expect(visitor.statusCode).toBe(400);
    expect(visitor.json()).toMatchObject({ code: 'VISIT_REQUIRED' });
  });
});

describe('reading rosters', () => {
  it('GET /v1/rosters pages with nextCursor; GET /v1/rosters/:id; unknown ids are 404 ROSTER_NOT_FOUND', async () => {
    for (let i = 0; i < 3; i++) await create({});
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        'GET',
        `/v1/rosters?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        h.keys.read,
      );
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((r: { id: string }) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    const all = await h.db.prisma.roster.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    expect(seen).toEqual(all.map((r) => r.id));

    const one = await call('GET', `/v1/rosters/${all[0]!.id}`, undefined, h.keys.read);
    expect(one.json()).toMatchObject({ id: all[0]!.id, name: all[0]!.name });
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      const missing = await call('GET', `/v1/rosters/${id}`, undefined, h.keys.read);
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ code: 'ROSTER_NOT_FOUND' });
    }
    const badCursor = await call('GET', '/v1/rosters?cursor=zzz', undefined, h.keys.read);
    expect(badCursor.json()).toMatchObject({ code: 'INVALID_CURSOR' });
  });

  it('GET /v1/rosters/:id/items answers masked codes only, in order, paginated', async () => {
    const codes = Array.from({ length: 7 }, (_, i) => code(100 + i));
    const roster = await create({
      items: [...codes.map((c, i) => ({ hesCode: c, reference: `r-${i}` })), { hesCode: 'x' }],
    });
    const got: { position: number; hesCode: string; valid: boolean; reference: string | null }[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        'GET',
        `/v1/rosters/${roster.id}/items?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        h.keys.read,
      );
      expect(res.statusCode, res.body).toBe(200);
      expectNoCodes(res.body, codes);
      got.push(...res.json().items);
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(got.map((i) => i.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(got[0]).toEqual({
      position: 0,
      reference: 'r-0',
      identityLast3: null,
      hesCode: 'S0******00',
      valid: true,
    });
    expect(got[7]).toMatchObject({ valid: false, reference: null });
  });
});

describe('PATCH /v1/rosters/:id', () => {
  it('renames, changes the schedule (scheduler follows at once) and removes it with null', async () => {
    const roster = await create({ schedule: { cron: '0 8 * * *' } });
    const renamed = await call('PATCH', `/v1/rosters/${roster.id}`, { name: 'Day shift' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'Day shift', schedule: { cron: '0 8 * * *' } });

    const moved = await call('PATCH', `/v1/rosters/${roster.id}`, {
      schedule: { cron: '15 9 * * 1', timeZone: 'UTC' },
    });
    expect(moved.json().schedule).toMatchObject({ cron: '15 9 * * 1', timeZone: 'UTC' });
    expect(await rosters.getJobScheduler(roster.id)).toMatchObject({ pattern: '15 9 * * 1', tz: 'UTC' });

    const removed = await call('PATCH', `/v1/rosters/${roster.id}`, { schedule: null });
    expect(removed.json().schedule).toBeNull();
    expect(await rosters.getJobScheduler(roster.id)).toBeUndefined();

    const clash = await create({});
    const taken = await call('PATCH', `/v1/rosters/${clash.id}`, { name: 'Day shift' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ code: 'ROSTER_NAME_TAKEN' });
    const badCron = await call('PATCH', `/v1/rosters/${clash.id}`, { schedule: { cron: '99 * * * *' } });
    expect(badCron.json()).toMatchObject({ code: 'INVALID_CRON' });
    const missing = await call('PATCH', '/v1/rosters/00000000-0000-4000-8000-000000000000', { name: 'z' });
    expect(missing.json()).toMatchObject({ code: 'ROSTER_NOT_FOUND' });
  });
});

describe('PUT /v1/rosters/:id/items', () => {
  const itemsOf = async (id: string) =>
    (await h.db.prisma.rosterItem.findMany({ where: { rosterId: id }, orderBy: { position: 'asc' } })).map(
      (r) => r.reference,
    );

  it('replaces every item from JSON, then from CSV', async () => {
    const roster = await create({ items: [{ hesCode: code(1), reference: 'old-1' }] });
    const json = await call('PUT', `/v1/rosters/${roster.id}/items`, {
      items: [
        { hesCode: code(2), reference: 'new-1' },
        { hesCode: code(3), reference: 'new-2' },
      ],
    });
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json()).toMatchObject({ id: roster.id, itemCount: 2 });
    expect(await itemsOf(roster.id)).toEqual(['new-1', 'new-2']);

    const csv = await call(
      'PUT',
      `/v1/rosters/${roster.id}/items`,
      `\uFEFFhes_code,reference,identity_last3\r\n${code(4)},csv-1,123\r\nbad,csv-2,\r\n${code(5)},csv-3,\r\n`,
      h.keys.readWrite,
      { 'content-type': 'text/csv' },
    );
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.json().itemCount).toBe(3);
    expect(await itemsOf(roster.id)).toEqual(['csv-1', 'csv-2', 'csv-3']);
    const rows = await h.db.prisma.rosterItem.findMany({
      where: { rosterId: roster.id },
      orderBy: { position: 'asc' },
    });
    expect(rows[0]!.identityLast3).toBe('123');
    expect(vault.decrypt(rows[2]!.codeCipher!, rosterItemAad(roster.id, 2))).toBe(code(5));
    expect(rows[1]!.codeCipher).toBeNull();
  });

  it('is all or nothing: invalid lines, too many lines, an empty upload or a failure mid-write keep the old items', async () => {
    const roster = await create({ items: [{ hesCode: code(1), reference: 'keep' }] });
    const csvPut = (csv: string) =>
      call('PUT', `/v1/rosters/${roster.id}/items`, csv, h.keys.readWrite, { 'content-type': 'text/csv' });

    const invalid = await csvPut(`hesCode,reference,identityLast3\n${code(2)},a,12\n`);
    expect(invalid.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const tooMany = await csvPut(
      `hesCode\n${Array.from({ length: MAX_ITEMS + 1 }, (_, i) => code(i)).join('\n')}\n`,
    );
    expect(tooMany.statusCode).toBe(413);
    const empty = await csvPut('hesCode,reference\n');
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ code: 'ROSTER_EMPTY' });
    const emptyJson = await call('PUT', `/v1/rosters/${roster.id}/items`, { items: [] });
    expect(emptyJson.json()).toMatchObject({ code: 'ROSTER_EMPTY' });

    // A real failure in PostgreSQL after two 5 000-row statements went through: the transaction is undone.
    await h.db.prisma.$executeRawUnsafe(`
      CREATE FUNCTION fail_on_boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.reference = 'boom' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$`);
    await h.db.prisma.$executeRawUnsafe(
      'CREATE TRIGGER boom BEFORE INSERT ON roster_items FOR EACH ROW EXECUTE FUNCTION fail_on_boom()',
    );
    try {
      const items = Array.from({ length: 11_000 }, (_, i) => ({ hesCode: code(i), reference: `r-${i}` }));
      items[10_500]!.reference = 'boom';
      const failed = await call('PUT', `/v1/rosters/${roster.id}/items`, { items });
      expect(failed.statusCode).toBeGreaterThanOrEqual(500);
      expectNoCodes(failed.body, [code(10_500)]);
    } finally {
      await h.db.prisma.$executeRawUnsafe('DROP TRIGGER boom ON roster_items');
      await h.db.prisma.$executeRawUnsafe('DROP FUNCTION fail_on_boom()');
    }
    expect(await itemsOf(roster.id)).toEqual(['keep']);
    expect((await h.db.prisma.roster.findUnique({ where: { id: roster.id } }))!.itemCount).toBe(1);

    const missing = await call('PUT', '/v1/rosters/00000000-0000-4000-8000-000000000000/items', {
      items: [{ hesCode: code(1) }],
    });
    expect(missing.json()).toMatchObject({ code: 'ROSTER_NOT_FOUND' });
  });

  it('a 12 000-item CSV replaces in one go', async () => {
    const roster = await create({});
    const csv = `hesCode,reference\n${Array.from({ length: MAX_ITEMS }, (_, i) => `${code(i)},p-${i}`).join('\n')}\n`;
    const res = await call('PUT', `/v1/rosters/${roster.id}/items`, csv, h.keys.readWrite, {
      'content-type': 'text/csv',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().itemCount).toBe(MAX_ITEMS);
    const last = await h.db.prisma.rosterItem.findUnique({
      where: { rosterId_position: { rosterId: roster.id, position: MAX_ITEMS - 1 } },
    });
    expect(last!.reference).toBe(`p-${MAX_ITEMS - 1}`);
  });
});

describe('runs and history', () => {
  it('POST /runs makes a manual batch; history lists batches newest first with their counts', async () => {
    const roster = await create({
      items: [
        { hesCode: code(10), reference: 'a' },
        { hesCode: code(11), reference: 'b', identityLast3: '792' },
        { hesCode: '??', reference: 'c' },
      ],
    });
    const run = await call('POST', `/v1/rosters/${roster.id}/runs`);
    expect(run.statusCode, run.body).toBe(202);
    const batch = run.json();
    expect(run.headers.location).toBe(`/v1/batches/${batch.id}`);
    expect(batch).toMatchObject({
      rosterId: roster.id,
      trigger: 'manual',
      kind: 'standard',
      total: 3,
      status: 'queued',
      counts: { queued: 2, completed: 1 },
      outcomes: { INVALID: 1 },
    });
    const checks = await h.db.prisma.check.findMany({
      where: { batchId: batch.id },
      orderBy: { seq: 'asc' },
    });
    expect(checks.map((c) => [c.reference, c.identityLast3, c.outcome])).toEqual([
      ['a', null, null],
      ['b', '792', null],
      ['c', null, 'INVALID'],
    ]);
    // Re-encrypted for the check (AAD = check id), the stored HMAC carried over.
    expect(vault.decrypt(checks[0]!.codeCipher!, checks[0]!.id)).toBe(code(10));
    expect(checks[0]!.codeHmac).toBe(vault.hmac(code(10)));
    const jobs = await h.queue.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1);
    const carried = jobs.filter((j) => (j.data as { batchId?: string }).batchId === batch.id);
    expect(carried.flatMap((j) => (j.data as { checkIds: string[] }).checkIds)).toEqual([
      checks[0]!.id,
      checks[1]!.id,
    ]);
    expect((await h.db.prisma.roster.findUnique({ where: { id: roster.id } }))!.lastRunAt).not.toBeNull();

    await h.completeCheck(checks[0]!.id, { outcome: 'RISKY' });
    const second = (await call('POST', `/v1/rosters/${roster.id}/runs`)).json();
    const third = (await call('POST', `/v1/rosters/${roster.id}/runs`)).json();
    const secondChecks = await h.db.prisma.check.findMany({ where: { batchId: second.id } });
    for (const c of secondChecks.filter((c) => c.outcome === null)) await h.completeCheck(c.id);

    const page1 = await call('GET', `/v1/rosters/${roster.id}/batches?limit=2`, undefined, h.keys.read);
    expect(page1.statusCode, page1.body).toBe(200);
    expect(page1.json().items.map((b: { id: string }) => b.id)).toEqual([third.id, second.id]);
    expect(page1.json().items[1]).toMatchObject({
      status: 'completed',
      trigger: 'manual',
      rosterId: roster.id,
      outcomes: { RISKLESS: 2, INVALID: 1 },
    });
    const page2 = await call(
      'GET',
      `/v1/rosters/${roster.id}/batches?limit=2&cursor=${page1.json().nextCursor}`,
      undefined,
      h.keys.read,
    );
    expect(page2.json().items).toHaveLength(1);
    expect(page2.json().items[0]).toMatchObject({
      id: batch.id,
      status: 'running',
      counts: { queued: 1, completed: 2 },
      outcomes: { RISKY: 1, INVALID: 1 },
    });
    expect(page2.json().nextCursor).toBeNull();

    // The batch itself shows its roster, and a plain POST /v1/batches says trigger api.
    const viaBatches = await call('GET', `/v1/batches/${batch.id}`, undefined, h.keys.read);
    expect(viaBatches.json()).toMatchObject({ rosterId: roster.id, trigger: 'manual' });
    const plain = await call('POST', '/v1/batches', { items: [{ hesCode: code(1) }] });
    expect(plain.json()).toMatchObject({ rosterId: null, trigger: 'api' });
  });

  it('running an empty roster is 400 ROSTER_EMPTY; an unknown one 404', async () => {
    const roster = await create({});
    const res = await call('POST', `/v1/rosters/${roster.id}/runs`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'ROSTER_EMPTY' });
    expect(await h.db.prisma.batch.count({ where: { rosterId: roster.id } })).toBe(0);
    const missing = await call('POST', '/v1/rosters/00000000-0000-4000-8000-000000000000/runs');
    expect(missing.json()).toMatchObject({ code: 'ROSTER_NOT_FOUND' });
  });

  it('a roster whose stored codes no longer decrypt is 409 ROSTER_UNREADABLE, and nothing is written', async () => {
    const roster = await create({ items: [{ hesCode: code(1) }, { hesCode: code(2) }] });
    // Swap the two ciphertexts: each is bound to its position (AAD), so neither opens any more.
    await h.db.prisma.$executeRawUnsafe(
      `UPDATE roster_items a SET code_cipher = b.code_cipher FROM roster_items b
       WHERE a.roster_id = b.roster_id AND a.roster_id = $1::uuid AND a.position = 0 AND b.position = 1`,
      roster.id,
    );
    const res = await call('POST', `/v1/rosters/${roster.id}/runs`);
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code: 'ROSTER_UNREADABLE' });
    expect(await h.db.prisma.batch.count({ where: { rosterId: roster.id } })).toBe(0);
  });

  it('DELETE removes the roster and its scheduler; its batches stay with rosterId null', async () => {
    const roster = await create({ items: [{ hesCode: code(1) }], schedule: { cron: '0 6 * * *' } });
    const batch = (await call('POST', `/v1/rosters/${roster.id}/runs`)).json();
    expect(await rosters.getJobScheduler(roster.id)).toBeDefined();
    const res = await call('DELETE', `/v1/rosters/${roster.id}`);
    expect(res.statusCode).toBe(204);
    expect(await rosters.getJobScheduler(roster.id)).toBeUndefined();
    expect(await h.db.prisma.rosterItem.count({ where: { rosterId: roster.id } })).toBe(0);
    expect(await h.db.prisma.batch.findUnique({ where: { id: batch.id } })).toMatchObject({
      rosterId: null,
      trigger: 'manual',
    });
    expect((await call('DELETE', `/v1/rosters/${roster.id}`)).json()).toMatchObject({
      code: 'ROSTER_NOT_FOUND',
    });
  });
});

describe('scopes', () => {
  it('reads need checks:read, writes checks:write; no key is 401', async () => {
    const roster = await create({ items: [{ hesCode: code(1) }] });
    const reads = [
      '/v1/rosters',
      `/v1/rosters/${roster.id}`,
      `/v1/rosters/${roster.id}/items`,
      `/v1/rosters/${roster.id}/batches`,
    ];
    for (const url of reads) {
      expect((await call('GET', url, undefined, h.keys.read)).statusCode).toBe(200);
      expect((await call('GET', url, undefined, h.keys.write)).json()).toMatchObject({
        code: 'FORBIDDEN_SCOPE',
      });
      expect((await h.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    }
    const writes: [string, string, unknown][] = [
      ['POST', '/v1/rosters', { name: uniqueName() }],
      ['PATCH', `/v1/rosters/${roster.id}`, { name: uniqueName() }],
      ['PUT', `/v1/rosters/${roster.id}/items`, { items: [{ hesCode: code(2) }] }],
      ['POST', `/v1/rosters/${roster.id}/runs`, undefined],
      ['DELETE', `/v1/rosters/${roster.id}`, undefined],
    ];
    for (const [method, url, body] of writes) {
      const res = await call(method, url, body, h.keys.read);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    expect(await h.db.prisma.roster.findUnique({ where: { id: roster.id } })).not.toBeNull();
  });

  it('the OpenAPI document describes the roster routes', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.paths['/v1/rosters/{id}/items'].put.requestBody.content).toHaveProperty('text/csv');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/rosters',
        '/v1/rosters/{id}',
        '/v1/rosters/{id}/items',
        '/v1/rosters/{id}/runs',
      ]),
    );
  });
});

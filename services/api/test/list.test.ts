import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApi } from './helpers.js';

let h: ApiHarness;
const created: string[] = [];

beforeAll(async () => {
  h = await startApi('list');
  // 130 checks under one reference: three pages of 50, the last one short.
  for (let i = 0; i < 130; i++) {
    const code = `PG${String(i).padStart(8, '0')}`;
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/checks',
      headers: h.auth(h.keys.write),
      payload: { hesCode: code, reference: 'paged' },
    });
    created.push(res.json().id);
  }
  for (let i = 0; i < 5; i++) {
    await h.app.inject({
      method: 'POST',
      url: '/v1/checks',
      headers: h.auth(h.keys.write),
      payload: { hesCode: `OT${String(i).padStart(8, '0')}`, reference: 'other' },
    });
  }
});
afterAll(() => h.close());

async function list(qs: string) {
  const res = await h.app.inject({ method: 'GET', url: `/v1/checks?${qs}`, headers: h.auth(h.keys.read) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as {
    items: { id: string; reference: string; status: string; outcome: string | null }[];
    nextCursor: string | null;
  };
}

describe('GET /v1/checks', () => {
  it('pages through every check exactly once, in submission order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(`reference=paged&limit=50${cursor ? `&cursor=${cursor}` : ''}`);
      pages++;
      expect(page.items.length).toBeLessThanOrEqual(50);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(created);
  });

  it('new checks arriving between pages neither duplicate nor skip rows', async () => {
    const first = await list('reference=paged&limit=100');
    await h.app.inject({
      method: 'POST',
      url: '/v1/checks',
      headers: h.auth(h.keys.write),
      payload: { hesCode: 'PGLATE0001', reference: 'paged-late' },
    });
    const second = await list(`reference=paged&limit=100&cursor=${first.nextCursor}`);
    expect([...first.items, ...second.items].map((c) => c.id)).toEqual(created);
    expect(second.nextCursor).toBeNull();
  });

  it('defaults to 50 items per page', async () => {
    const page = await list('');
    expect(page.items).toHaveLength(50);
    expect(page.nextCursor).not.toBeNull();
  });

  it('filters by status and outcome (worker results simulated)', async () => {
    await h.completeCheck(created[3]!, { outcome: 'RISKY' });
    await h.completeCheck(created[7]!, { outcome: 'RISKLESS' });
    await h.completeCheck(created[9]!, { status: 'failed' });
    const completed = await list('reference=paged&status=completed');
    expect(completed.items.map((c) => c.id)).toEqual([created[3], created[7]]);
    const risky = await list('outcome=RISKY');
    expect(risky.items.map((c) => c.id)).toEqual([created[3]]);
    const failed = await list('status=failed');
    expect(failed.items.map((c) => c.id)).toEqual([created[9]]);
    const queued = await list('reference=paged&status=queued&limit=500');
    expect(queued.items).toHaveLength(127);
  });

  it('filters by reference', async () => {
    const other = await list('reference=other');
    expect(other.items).toHaveLength(5);
    expect(other.items.every((c) => c.reference === 'other')).toBe(true);
    expect(other.nextCursor).toBeNull();
  });

  it('filters by since (date-time and date)', async () => {
    const future = await list(`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.items).toHaveLength(0);
    const today = new Date().toISOString().slice(0, 10);
    const all = await list(`since=2020-01-01&reference=other`);
    expect(all.items).toHaveLength(5);
    expect((await list(`since=${today}&reference=other`)).items).toHaveLength(5);
  });

  it('filters by batchId', async () => {
    const batch = await h.app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: h.auth(h.keys.write),
      payload: { items: [{ hesCode: 'BT00000001' }, { hesCode: 'BT00000002' }] },
    });
    const batchId = batch.json().id;
    const page = await list(`batchId=${batchId}`);
    expect(page.items).toHaveLength(2);
    expect(page.items.every((c) => (c as unknown as { batchId: string }).batchId === batchId)).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApi } from './helpers.js';

let h: ApiHarness;
const batchIds: string[] = [];

beforeAll(async () => {
  h = await startApi('batch-list');
  for (let i = 0; i < 5; i++) {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/batches',
      headers: h.auth(h.keys.write),
      payload: { items: [{ hesCode: `BL${i}0000000`, reference: `r${i}` }, { hesCode: 'bad' }] },
    });
    expect(res.statusCode, res.body).toBe(202);
    batchIds.push(res.json().id);
  }
});
afterAll(() => h.close());

describe('GET /v1/batches', () => {
  it('lists batches newest first with their progress, paged by cursor without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { statusCode: number; body: string; json(): unknown } = await h.app.inject({
        method: 'GET',
        url: `/v1/batches?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        headers: h.auth(h.keys.read),
      });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json() as {
        items: { id: string; total: number; outcomes: { INVALID: number } }[];
        nextCursor: string | null;
      };
      for (const b of page.items) {
        expect(b.total).toBe(2);
        expect(b.outcomes.INVALID).toBe(1);
      }
      seen.push(...page.items.map((b) => b.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...batchIds].reverse());
  });

  it('needs checks:read and refuses foreign cursors', async () => {
    const forbidden = await h.app.inject({
      method: 'GET',
      url: '/v1/batches',
      headers: h.auth(h.keys.write),
    });
    expect(forbidden.json().code).toBe('FORBIDDEN_SCOPE');
    const bad = await h.app.inject({
      method: 'GET',
      url: '/v1/batches?cursor=czox',
      headers: h.auth(h.keys.read),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('INVALID_CURSOR');
  });
});

describe('GET /v1/batches/:id/checks?identityMatch=false', () => {
  it('lists only the people whose code belongs to someone else, in JSON and CSV', async () => {
    const batchId = batchIds[0]!;
    const checks = await h.db.prisma.check.findMany({ where: { batchId }, orderBy: { seq: 'asc' } });
    await h.db.prisma.check.update({ where: { id: checks[0]!.id }, data: { identityMatch: false } });
    const res = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batchId}/checks?identityMatch=false`,
      headers: h.auth(h.keys.read),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items.map((c: { id: string }) => c.id)).toEqual([checks[0]!.id]);
    const csv = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batchId}/checks?identityMatch=false`,
      headers: { ...h.auth(h.keys.read), accept: 'text/csv' },
    });
    expect(csv.body.trim().split('\n')).toHaveLength(2);
    const yes = await h.app.inject({
      method: 'GET',
      url: `/v1/batches/${batchId}/checks?identityMatch=true`,
      headers: h.auth(h.keys.read),
    });
    expect(yes.json().items).toEqual([]);
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { CodeVault } from '@hes/core';
import { recordPgStatements } from '@hes/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksRepository, type NewCheck } from '../src/adapters/checks-repository.js';
import { type ApiHarness, DATA_KEY, startApi } from './helpers.js';

let h: ApiHarness;
const vault = new CodeVault(Buffer.from(DATA_KEY, 'base64'));

beforeAll(async () => {
  h = await startApi('coalescing');
});
afterAll(() => h.close());

const codes = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    `K${String(i).padStart(3, '0')}${randomBytes(3).toString('hex').toUpperCase()}`.slice(0, 10),
  );

describe('requests that arrive together share their round trips', () => {
  it('40 concurrent POST /v1/checks: one answer each, every check stored and queued, far fewer statements and Redis calls', async () => {
    const batch = codes(40);
    const statements = recordPgStatements(h.app.pgPool);
    const addBulk = h.queue.addBulk.bind(h.queue);
    const bulkSizes: number[] = [];
    h.queue.addBulk = (async (jobs: Parameters<typeof addBulk>[0]) => {
      bulkSizes.push(jobs.length);
      return addBulk(jobs);
    }) as typeof addBulk;
    let responses: Awaited<ReturnType<typeof h.app.inject>>[];
    try {
      responses = await Promise.all(
        batch.map((hesCode, i) =>
          h.app.inject({
            method: 'POST',
            url: '/v1/checks',
            headers: h.auth(h.keys.write),
            payload: { hesCode, reference: `together-${i}` },
          }),
        ),
      );
    } finally {
      statements.stop();
      h.queue.addBulk = addBulk;
    }
    expect(responses.map((r) => r.statusCode)).toEqual(batch.map(() => 202));
    const bodies = responses.map((r) => r.json() as { id: string; reference: string; seq?: unknown });
    expect(new Set(bodies.map((b) => b.id)).size).toBe(40);
    // Each answer is its own request's check.
    expect(bodies.map((b) => b.reference)).toEqual(batch.map((_, i) => `together-${i}`));

    const rows = await h.app.pgPool.query<{ id: string; reference: string; code_cipher: Buffer }>(
      `SELECT id, reference, code_cipher FROM checks WHERE reference LIKE 'together-%'`,
    );
    expect(rows.rows).toHaveLength(40);
    for (const row of rows.rows) {
      const i = Number(row.reference.slice('together-'.length));
      expect(row.id).toBe(bodies[i]!.id);
      expect(vault.decrypt(row.code_cipher, row.id)).toBe(batch[i]);
    }
    const jobs = await h.queue.getJobs(['waiting', 'prioritized', 'delayed']);
    const queued = new Set(jobs.map((j) => (j.data as { checkId?: string }).checkId));
    for (const b of bodies) expect(queued.has(b.id)).toBe(true);

    const inserts = statements.names.filter((n) => n.startsWith('hes_check'));
    const lookups = statements.names.filter((n) => n === 'hes_api_keys_by_hash');
    expect(inserts).toContain('hes_checks_insert_many');
    expect(inserts.length).toBeLessThanOrEqual(10);
    expect(lookups.length).toBeGreaterThan(0);
    expect(lookups.length).toBeLessThanOrEqual(10);
    expect(bulkSizes.reduce((a, b) => a + b, 0)).toBe(40);
    expect(bulkSizes.length).toBeLessThanOrEqual(10);
  });

  it('a check that fails a shared INSERT fails alone: the others are stored and answered', async () => {
    const repo = new ChecksRepository(h.db.prisma, h.app.pgPool);
    const { rows } = await h.app.pgPool.query<{ id: string }>('SELECT id FROM api_keys LIMIT 1');
    const apiKeyId = rows[0]!.id;
    const taken = randomUUID();
    const make = (id: string, i: number): NewCheck => ({
      id,
      kind: 'standard',
      status: 'queued',
      codeCipher: new Uint8Array(vault.encrypt('A1B2C3D4E5', id)),
      codeHmac: vault.hmac('A1B2C3D4E5'),
      codeMasked: 'A1******E5',
      reference: `alone-${i}`,
      identityLast3: null,
      jobId: `single:${id}`,
      requestId: `req-${i}`,
      apiKeyId,
    });
    await repo.insert(make(taken, 0));
    const ids = [randomUUID(), randomUUID(), taken, randomUUID()];
    const settled = await Promise.allSettled(ids.map((id, i) => repo.insert(make(id, i + 1))));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ code: '23505' });
    const stored = await h.app.pgPool.query<{ id: string; seq: string }>(
      `SELECT id, seq FROM checks WHERE reference LIKE 'alone-%' ORDER BY reference`,
    );
    expect(stored.rows.map((r) => r.id)).toEqual([taken, ids[0], ids[1], ids[3]]);
    // The answers carry what the database assigned.
    for (const [i, s] of settled.entries()) {
      if (s.status !== 'fulfilled' || s.value.status !== 'created') continue;
      const row = stored.rows.find((r) => r.id === ids[i]);
      expect(s.value.row.seq).toBe(BigInt(row!.seq));
    }
  });
});

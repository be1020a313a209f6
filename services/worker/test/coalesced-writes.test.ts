import { createPgPool, type PgPool } from '@hes/core';
import { recordPgStatements, waitFor } from '@hes/core/testing';
import { generateSandboxCodes } from '@hes/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksRepository } from '../src/adapters/checks-repository.js';
import { Harness } from './harness.js';

let h: Harness;
let pool: PgPool;
let repo: ChecksRepository;
let seed = 900;
const fresh = (n: number) => generateSandboxCodes('RISKLESS', n, ++seed);

beforeAll(async () => {
  h = await Harness.start('worker-coalesced');
  pool = createPgPool(h.db.url, { max: 4 });
  repo = new ChecksRepository(pool);
});
afterAll(async () => {
  await pool?.end();
  await h?.close();
});

describe('single-check jobs that claim or finish together share one statement', () => {
  it('20 concurrent single claims and results: one answer each, far fewer statements', async () => {
    const { ids } = await h.insertChecks({ kind: 'standard', codes: fresh(20) });
    const statements = recordPgStatements(pool);
    let claims: Awaited<ReturnType<ChecksRepository['claim']>>[];
    let written: Awaited<ReturnType<ChecksRepository['writeFinal']>>[];
    try {
      claims = await Promise.all(ids.map((id) => repo.claim([id])));
      written = await Promise.all(
        ids.map((id) => repo.writeFinal([{ id, status: 'completed', outcome: 'RISKLESS' }])),
      );
    } finally {
      statements.stop();
    }
    expect(claims.map((c) => c.map((x) => x.id))).toEqual(ids.map((id) => [id]));
    expect(claims.every((c) => c[0]!.codeCipher !== null)).toBe(true);
    expect(written.map((w) => w.map((x) => [x.id, x.status]))).toEqual(ids.map((id) => [[id, 'completed']]));
    const claimStatements = statements.names.filter((n) => n === 'hes_worker_claim').length;
    const writeStatements = statements.names.filter((n) => n === 'hes_worker_writeFinal').length;
    expect(claimStatements).toBeGreaterThan(0);
    expect(claimStatements).toBeLessThanOrEqual(5);
    expect(writeStatements).toBeGreaterThan(0);
    expect(writeStatements).toBeLessThanOrEqual(5);
    const rows = await h.db.prisma.check.findMany({ where: { id: { in: ids } } });
    expect(rows.every((r) => r.status === 'completed' && r.attempts === 1 && r.codeCipher === null)).toBe(
      true,
    );
  });

  it('the same check twice in one turn: claimed once, written once, reported to one caller only', async () => {
    const [id] = (await h.insertChecks({ kind: 'standard', codes: fresh(1) })).ids;
    const claims = await Promise.all([repo.claim([id!]), repo.claim([id!])]);
    expect(claims.map((c) => c.length).sort()).toEqual([0, 1]);
    const writes = await Promise.all([
      repo.writeFinal([{ id: id!, status: 'completed', outcome: 'RISKY' }]),
      repo.writeFinal([{ id: id!, status: 'failed', errorCode: 'UPSTREAM_UNAVAILABLE', errorMessage: 'x' }]),
    ]);
    // The first result is the one stored; the second, as it would alone, finds the check final.
    expect(writes.map((w) => w.length)).toEqual([1, 0]);
    const row = await h.db.prisma.check.findUniqueOrThrow({ where: { id: id! } });
    expect(row).toMatchObject({ status: 'completed', outcome: 'RISKY', attempts: 1 });
  });

  it('multi-row writes lock their rows in id order, so two writers with overlapping rows cannot deadlock', async () => {
    const { ids } = await h.insertChecks({ kind: 'standard', codes: fresh(2) });
    const [low, high] = [...ids].sort() as [string, string];
    // Another writer holds the lower row and will want the higher one next: in id order, as every
    // multi-row write of checks does.
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT id FROM checks WHERE id = $1::uuid FOR UPDATE', [low]);
      // The results arrive higher id first; locking in that order would hold `high` and wait for `low`.
      const writing = repo.writeFinal([
        { id: high, status: 'completed', outcome: 'RISKLESS' },
        { id: low, status: 'completed', outcome: 'RISKY' },
      ]);
      const outcome = writing.then(
        (rows) => ({ ok: true as const, rows }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      // Until the write is really waiting for a row lock (not a fixed sleep).
      await waitFor(
        async () =>
          (
            await pool.query<{ n: string }>(
              `SELECT count(*) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            )
          ).rows[0]!.n === '1',
        { timeoutMs: 5_000, message: 'the write to wait for the held row' },
      );
      // With the write waiting on `low` without holding `high`, the other writer gets `high` at once.
      await other.query("SET LOCAL lock_timeout = '3s'");
      await other.query('SELECT id FROM checks WHERE id = $1::uuid FOR UPDATE', [high]);
      await other.query('COMMIT');
      const result = await outcome;
      expect(result.ok, result.ok ? '' : String((result as { err: unknown }).err)).toBe(true);
      expect(result.ok && result.rows.map((r) => r.id).sort()).toEqual([low, high]);
    } finally {
      await other.query('ROLLBACK').catch(() => {});
      other.release();
    }
  });
});

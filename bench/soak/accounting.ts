/**
 * The reconciliation of the soak against PostgreSQL, the system of record. A trigger installed on the
 * soak's private database (not a migration: it exists only there) records every write that makes a
 * check final or changes a final check, so a second result for one check is counted, not inferred.
 */
import type pg from 'pg';
import type { LoadTally } from './load.js';

export const INSTALL_RESULT_AUDIT = `
CREATE TABLE soak_final_writes (
  check_id uuid NOT NULL,
  old_status text NOT NULL,
  new_status text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION soak_record_final_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO soak_final_writes (check_id, old_status, new_status)
  VALUES (NEW.id, OLD.status::text, NEW.status::text);
  RETURN NULL;
END $$;
CREATE TRIGGER soak_final_writes AFTER UPDATE ON checks FOR EACH ROW
WHEN (
  (NEW.status::text IN ('completed', 'failed') AND (
     OLD.status IS DISTINCT FROM NEW.status OR OLD.outcome IS DISTINCT FROM NEW.outcome
     OR OLD.error_code IS DISTINCT FROM NEW.error_code OR OLD.completed_at IS DISTINCT FROM NEW.completed_at))
  OR (OLD.status::text IN ('completed', 'failed') AND NEW.status::text NOT IN ('completed', 'failed'))
)
EXECUTE FUNCTION soak_record_final_write();
`;

export interface Accounting {
  /** Acknowledged checks: singles answered 200/202 plus the `total` of every roster answered 202. */
  accepted: number;
  acceptedSingles: number;
  acceptedRosterChecks: number;
  rosters: number;
  completed: number;
  failed: number;
  /** Acknowledged but missing from PostgreSQL, or not final after the drain. */
  lost: number;
  missing: number;
  notFinal: number;
  /** Rosters whose row count differs from the acknowledged total. */
  rosterCountMismatches: number;
  rostersNotCompleted: number;
  /** Writes to an already-final check, or a check made final more than once. */
  duplicates: number;
  /** Final checks still holding the code ciphertext (SPEC §6: erased on every final status). */
  finalWithCiphertext: number;
  failuresByCode: Record<string, number>;
  outcomes: Record<string, number>;
  maxAttempts: number;
}

export async function pendingCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM checks WHERE status IN ('queued', 'processing')",
  );
  return Number(rows[0]!.n);
}

/** Acknowledged checks not final yet (missing rows count as not final). */
export async function unfinishedAcknowledged(pool: pg.Pool, tally: LoadTally): Promise<number> {
  const ids = [...tally.singles.keys()];
  const { rows } = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM checks WHERE id = ANY($1::uuid[]) AND status IN ('completed', 'failed')",
    [ids],
  );
  const batchIds = tally.batches.map((b) => b.id);
  const { rows: b } = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM checks WHERE batch_id = ANY($1::uuid[]) AND status IN ('completed', 'failed')",
    [batchIds],
  );
  const expected = ids.length + tally.batches.reduce((s, x) => s + x.total, 0);
  return expected - Number(rows[0]!.n) - Number(b[0]!.n);
}

export async function reconcile(pool: pg.Pool, tally: LoadTally): Promise<Accounting> {
  const ids = [...tally.singles.keys()];
  const batchIds = tally.batches.map((b) => b.id);
  const acked = `(id = ANY($1::uuid[]) OR batch_id = ANY($2::uuid[]))`;
  const params = [ids, batchIds];

  const { rows: singles } = await pool.query<{ status: string; n: string }>(
    'SELECT status::text, count(*) AS n FROM checks WHERE id = ANY($1::uuid[]) GROUP BY status',
    [ids],
  );
  const singlesFound = singles.reduce((s, r) => s + Number(r.n), 0);
  const { rows: perBatch } = await pool.query<{ batch_id: string; n: string; final: string; done: boolean }>(
    `SELECT b.id AS batch_id, count(c.id) AS n,
            count(c.id) FILTER (WHERE c.status IN ('completed', 'failed')) AS final,
            b.status::text = 'completed' AS done
     FROM batches b LEFT JOIN checks c ON c.batch_id = b.id
     WHERE b.id = ANY($1::uuid[]) GROUP BY b.id`,
    [batchIds],
  );
  const byBatch = new Map(perBatch.map((r) => [r.batch_id, r]));
  let rosterFinal = 0;
  let rosterMissing = 0;
  let rosterCountMismatches = 0;
  let rostersNotCompleted = 0;
  for (const b of tally.batches) {
    const row = byBatch.get(b.id);
    const n = row ? Number(row.n) : 0;
    rosterFinal += row ? Number(row.final) : 0;
    rosterMissing += Math.max(0, b.total - n);
    if (n !== b.total || b.total !== b.items) rosterCountMismatches++;
    if (!row?.done) rostersNotCompleted++;
  }
  const acceptedRosterChecks = tally.batches.reduce((s, b) => s + b.total, 0);
  const singlesFinal = singles
    .filter((r) => r.status === 'completed' || r.status === 'failed')
    .reduce((s, r) => s + Number(r.n), 0);
  const missing = ids.length - singlesFound + rosterMissing;
  const accepted = ids.length + acceptedRosterChecks;
  const final = singlesFinal + rosterFinal;

  const { rows: statuses } = await pool.query<{ status: string; code: string | null; n: string }>(
    `SELECT status::text, COALESCE(error_code, outcome::text) AS code, count(*) AS n
     FROM checks WHERE ${acked} GROUP BY 1, 2`,
    params,
  );
  const failuresByCode: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  let completed = 0;
  let failed = 0;
  for (const r of statuses) {
    if (r.status === 'completed') {
      completed += Number(r.n);
      outcomes[r.code ?? 'none'] = Number(r.n);
    } else if (r.status === 'failed') {
      failed += Number(r.n);
      failuresByCode[r.code ?? 'none'] = Number(r.n);
    }
  }
  // Every recorded write beyond the first pending → final transition of each check is a second result.
  const { rows: dup } = await pool.query<{ extra: string }>(
    `SELECT count(*) - count(DISTINCT check_id) FILTER (WHERE old_status NOT IN ('completed', 'failed'))
       AS extra
     FROM soak_final_writes`,
  );
  const { rows: misc } = await pool.query<{ cipher: string; attempts: number | null }>(
    `SELECT count(*) FILTER (WHERE status IN ('completed', 'failed') AND code_cipher IS NOT NULL) AS cipher,
            max(attempts) AS attempts
     FROM checks WHERE ${acked}`,
    params,
  );
  return {
    accepted,
    acceptedSingles: ids.length,
    acceptedRosterChecks,
    rosters: tally.batches.length,
    completed,
    failed,
    lost: accepted - final,
    missing,
    notFinal: accepted - final - missing,
    rosterCountMismatches,
    rostersNotCompleted,
    duplicates: Number(dup[0]!.extra),
    finalWithCiphertext: Number(misc[0]!.cipher),
    failuresByCode,
    outcomes,
    maxAttempts: misc[0]!.attempts ?? 0,
  };
}

import type { CheckKind, PgPool } from '@hes/core';
import { DatabaseUnavailableError } from '../domain/problem.js';

/**
 * Column arrays of up to a few thousand roster checks. INVALID rows have a null cipher (and hmac and
 * job). Job ids repeat for 500 rows of a bulk job, so rows carry a 1-based index into `jobIds`.
 */
export interface RosterChunk {
  ids: string[];
  masked: string[];
  ciphers: (Buffer | null)[];
  hmacs: (string | null)[];
  references: (string | null)[];
  identityLast3: (string | null)[];
  jobIndex: (number | null)[];
  jobIds: string[];
}

export interface NewBatch {
  id: string;
  kind: CheckKind;
  total: number;
  apiKeyId: string | null;
  requestId: string | null;
  /** Every item was INVALID: nothing will ever be picked up, the batch is complete at birth. */
  completed: boolean;
  visit: object | null;
}

const INSERT_BATCH = `
  INSERT INTO batches (id, kind, status, total, api_key_id, request_id, completed_at)
  VALUES ($1::uuid, $2::"CheckKind", $3::"BatchStatus", $4, $5::uuid, $6, CASE WHEN $7::boolean THEN now() END)
  RETURNING created_at, completed_at`;

// One statement per chunk; unnest keeps the roster order, so `seq` (the list cursor) follows the file.
const INSERT_CHECKS = `
  INSERT INTO checks (id, kind, status, outcome, code_masked, code_cipher, code_hmac, reference, identity_last3,
                      batch_id, visit, job_id, request_id, api_key_id, completed_at)
  SELECT r.id, $8::"CheckKind",
         CASE WHEN r.cipher IS NULL THEN 'completed' ELSE 'queued' END::"CheckStatus",
         CASE WHEN r.cipher IS NULL THEN 'INVALID' END::"CheckOutcome",
         r.masked, r.cipher, r.hmac, r.reference, r.last3,
         $9::uuid, CASE WHEN r.cipher IS NOT NULL THEN $10::jsonb END, ($7::text[])[r.job], $11, $12::uuid,
         CASE WHEN r.cipher IS NULL THEN now() END
  FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::text[], $13::int[])
       AS r(id, masked, cipher, hmac, reference, last3, job)`;

/**
 * Writes a batch and all its checks in one transaction with multi-row statements. `chunks` is
 * consumed lazily: the next chunk (encryption, HMAC) is computed while PostgreSQL inserts the previous.
 */
export async function writeRoster(
  pool: PgPool,
  batch: NewBatch,
  chunks: Iterable<RosterChunk>,
): Promise<{ createdAt: Date; completedAt: Date | null }> {
  const client = await pool.connect().catch((cause: unknown) => {
    throw new DatabaseUnavailableError({ cause });
  });
  let failed = false;
  try {
    await client.query('BEGIN');
    const inserted = await client.query<{ created_at: Date; completed_at: Date | null }>(INSERT_BATCH, [
      batch.id,
      batch.kind,
      batch.completed ? 'completed' : 'queued',
      batch.total,
      batch.apiKeyId,
      batch.requestId,
      batch.completed,
    ]);
    const visit = batch.visit ? JSON.stringify(batch.visit) : null;
    let pending: Promise<unknown> | null = null;
    for (const c of chunks) {
      if (pending) await pending;
      pending = client.query(INSERT_CHECKS, [
        c.ids,
        c.masked,
        c.ciphers,
        c.hmacs,
        c.references,
        c.identityLast3,
        c.jobIds,
        batch.kind,
        batch.id,
        visit,
        batch.requestId,
        batch.apiKeyId,
        c.jobIndex,
      ]);
      // Handled here too so a failure surfacing while the next chunk is computed is not "unhandled".
      pending.catch(() => {});
    }
    if (pending) await pending;
    await client.query('COMMIT');
    const row = inserted.rows[0]!;
    return { createdAt: row.created_at, completedAt: row.completed_at };
  } catch (err) {
    failed = true;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    // A connection whose transaction failed mid-flight is not reused.
    client.release(failed ? true : undefined);
  }
}

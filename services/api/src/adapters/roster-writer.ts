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
  visit: object | null;
}

const INSERT_BATCH = `
  INSERT INTO batches (id, kind, status, total, api_key_id, request_id)
  VALUES ($1::uuid, $2::"CheckKind", 'queued', $3, $4::uuid, $5)
  RETURNING created_at`;

// Nothing will ever be picked up: the batch is complete at birth.
const COMPLETE_BATCH = `UPDATE batches SET status = 'completed', completed_at = now() WHERE id = $1::uuid RETURNING completed_at`;

// One statement per chunk; unnest keeps the roster order, so `seq` (the list cursor) follows the file.
// Roster checks reach their API key through the batch: api_key_id stays NULL on them because every
// foreign key costs a per-row trigger, and batch_id's is the one a roster needs (measured: a second
// FK adds ~35% to the insert of 100 000 rows).
const INSERT_CHECKS = `
  INSERT INTO checks (id, kind, status, outcome, code_masked, code_cipher, code_hmac, reference, identity_last3,
                      batch_id, visit, job_id, request_id, completed_at)
  SELECT r.id, $8::"CheckKind",
         CASE WHEN r.cipher IS NULL THEN 'completed' ELSE 'queued' END::"CheckStatus",
         CASE WHEN r.cipher IS NULL THEN 'INVALID' END::"CheckOutcome",
         r.masked, r.cipher, r.hmac, r.reference, r.last3,
         $9::uuid, CASE WHEN r.cipher IS NOT NULL THEN $10::jsonb END, ($7::text[])[r.job], $11,
         CASE WHEN r.cipher IS NULL THEN now() END
  FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::text[], $12::int[])
       AS r(id, masked, cipher, hmac, reference, last3, job)`;

/**
 * Writes a batch and all its checks in one transaction with multi-row statements. `chunks` is
 * consumed lazily: the next chunk (normalisation, encryption, HMAC) is computed while PostgreSQL
 * inserts the previous one. `allInvalid` is asked once every chunk is written.
 */
export async function writeRoster(
  pool: PgPool,
  batch: NewBatch,
  chunks: Iterable<RosterChunk>,
  allInvalid: () => boolean,
): Promise<{ createdAt: Date; completedAt: Date | null }> {
  const client = await pool.connect().catch((cause: unknown) => {
    throw new DatabaseUnavailableError({ cause });
  });
  let failed = false;
  try {
    await client.query('BEGIN');
    const inserted = await client.query<{ created_at: Date }>(INSERT_BATCH, [
      batch.id,
      batch.kind,
      batch.total,
      batch.apiKeyId,
      batch.requestId,
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
        c.jobIndex,
      ]);
      // Handled here too so a failure surfacing while the next chunk is computed is not "unhandled".
      pending.catch(() => {});
    }
    if (pending) await pending;
    let completedAt: Date | null = null;
    if (allInvalid()) {
      completedAt = (await client.query<{ completed_at: Date }>(COMPLETE_BATCH, [batch.id])).rows[0]!
        .completed_at;
    }
    await client.query('COMMIT');
    return { createdAt: inserted.rows[0]!.created_at, completedAt };
  } catch (err) {
    failed = true;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    // A connection whose transaction failed mid-flight is not reused.
    client.release(failed ? true : undefined);
  }
}

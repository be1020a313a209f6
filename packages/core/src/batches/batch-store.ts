import { DatabaseUnavailableError } from '../db/errors.js';
import type { PgPool, PgPoolClient } from '../db/pg-pool.js';
import type { CheckKind } from '../domain/check-types.js';
import type { BatchTrigger } from '../presenters/batch-view.js';
import type { CheckChunk } from './check-chunks.js';

export interface NewBatch {
  id: string;
  kind: CheckKind;
  total: number;
  apiKeyId: string | null;
  requestId: string | null;
  visit: object | null;
  rosterId?: string | null;
  trigger?: BatchTrigger;
  /** A scheduled run's fire time: (roster_id, scheduled_for) is unique, so a second insert is a no-op. */
  scheduledFor?: Date | null;
}

// ON CONFLICT only matters for scheduled runs (a redelivered job); other batches have a fresh id and a
// NULL scheduled_for, which never conflicts.
const INSERT_BATCH = `
  INSERT INTO batches (id, kind, status, total, api_key_id, request_id, roster_id, trigger, scheduled_for)
  VALUES ($1::uuid, $2::"CheckKind", 'queued', $3, $4::uuid, $5, $6::uuid, $7::"BatchTrigger", $8)
  ON CONFLICT (roster_id, scheduled_for) DO NOTHING
  RETURNING created_at`;

// Nothing will ever be picked up: the batch is complete at birth.
const COMPLETE_BATCH = `UPDATE batches SET status = 'completed', completed_at = now() WHERE id = $1::uuid RETURNING completed_at`;

// One statement per chunk; unnest keeps the roster order, so `seq` (the list cursor) follows the file.
// Batch checks reach their API key through the batch: api_key_id stays NULL on them because every
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

/** Runs `fn` in one transaction on a dedicated connection; a connection whose transaction failed is dropped. */
export async function inTransaction<T>(pool: PgPool, fn: (client: PgPoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((cause: unknown) => {
    throw new DatabaseUnavailableError({ cause });
  });
  let failed = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failed = true;
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release(failed ? true : undefined);
  }
}

/** The batch row; null when a scheduled run of this roster at this fire time already exists. */
export async function insertBatch(
  client: PgPoolClient,
  batch: NewBatch,
): Promise<{ createdAt: Date } | null> {
  const result = await client.query<{ created_at: Date }>(INSERT_BATCH, [
    batch.id,
    batch.kind,
    batch.total,
    batch.apiKeyId,
    batch.requestId,
    batch.rosterId ?? null,
    batch.trigger ?? 'api',
    batch.scheduledFor ?? null,
  ]);
  const row = result.rows[0];
  return row ? { createdAt: row.created_at } : null;
}

/**
 * Inserts the checks of a batch, one statement per chunk. `chunks` is consumed lazily: the next chunk
 * (normalisation, encryption, HMAC) is computed while PostgreSQL inserts the previous one.
 */
export async function insertChecks(
  client: PgPoolClient,
  batch: NewBatch,
  chunks: Iterable<CheckChunk> | AsyncIterable<CheckChunk>,
): Promise<void> {
  const visit = batch.visit ? JSON.stringify(batch.visit) : null;
  let pending: Promise<unknown> | null = null;
  // A plain for-of for sync sources: for-await would add a microtask hop per chunk for nothing.
  const write = (c: CheckChunk) => {
    const query = client.query(INSERT_CHECKS, [
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
    query.catch(() => {});
    return query;
  };
  if (Symbol.asyncIterator in chunks) {
    for await (const c of chunks) {
      if (pending) await pending;
      pending = write(c);
    }
  } else {
    for (const c of chunks) {
      if (pending) await pending;
      pending = write(c);
    }
  }
  if (pending) await pending;
}

/** Stamps a batch whose every check is INVALID as completed (nothing will ever be picked up). */
export async function completeBatch(client: PgPoolClient, batchId: string): Promise<Date> {
  return (await client.query<{ completed_at: Date }>(COMPLETE_BATCH, [batchId])).rows[0]!.completed_at;
}

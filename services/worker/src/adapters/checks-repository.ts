import { asError, type CheckKind, type CheckOutcome, coalescer, type PgPool } from '@hes/core';

/** A pending check as a job sees it after claiming it. */
export interface ClaimedCheck {
  id: string;
  kind: CheckKind;
  batchId: string | null;
  codeCipher: Uint8Array | null;
  identityLast3: string | null;
  visit: unknown;
}

export interface PlusFields {
  vaccinated: boolean | null;
  immune: boolean | null;
  testDataShared: boolean | null;
  lastNegativeTestAt: string | null;
}

/** What a final write stores; everything else about the row stays as it is. */
export type FinalResult =
  | {
      id: string;
      status: 'completed';
      outcome: CheckOutcome;
      maskedIdentityNumber?: string | null;
      maskedFirstName?: string | null;
      maskedLastName?: string | null;
      codeExpiresAt?: Date | null;
      identityMatch?: boolean | null;
      plus?: PlusFields | null;
    }
  | { id: string; status: 'failed'; errorCode: string; errorMessage: string };

/** A row that this write moved to a final status (a redelivered result moves nothing). */
export interface FinalizedRow {
  id: string;
  kind: CheckKind;
  batchId: string | null;
  status: 'completed' | 'failed';
  outcome: CheckOutcome | null;
  errorCode: string | null;
  latencySeconds: number;
}

export interface StaleCheck {
  id: string;
  kind: CheckKind;
  batchId: string | null;
  jobId: string | null;
  requestId: string | null;
}

/**
 * Statements with a fixed text run as named prepared statements: parsed and planned once per connection.
 * Every multi-row write of `checks` locks its rows in id order first (`target`): claims and results of
 * several jobs now share statements (see ChecksRepository), and two of them, or one and a reconciler
 * page, locking overlapping rows in different orders deadlocked (seen in CI).
 */
const SQL = {
  claim: `WITH target AS MATERIALIZED (
      SELECT id FROM checks WHERE id = ANY($1::uuid[]) AND status IN ('queued', 'processing')
      ORDER BY id FOR UPDATE)
    UPDATE checks AS c SET status = 'processing', attempts = c.attempts + 1, updated_at = now()
    FROM target WHERE c.id = target.id
    RETURNING c.id, c.kind, c.batch_id, c.code_cipher, c.identity_last3, c.visit`,
  finalStateOf: `SELECT batch_id FROM checks WHERE id = $1::uuid AND status IN ('completed', 'failed')`,
  markBatchRunning: `UPDATE batches SET status = 'running' WHERE id = $1::uuid AND status = 'queued'`,
  writeFinal: `WITH r AS MATERIALIZED (
      SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
        id uuid, status text, outcome text, masked_identity_number text, masked_first_name text,
        masked_last_name text, code_expires_at timestamptz, identity_match boolean, plus jsonb,
        error_code text, error_message text)),
    target AS MATERIALIZED (
      SELECT c.id FROM checks AS c JOIN r ON c.id = r.id
      WHERE c.status IN ('queued', 'processing') ORDER BY c.id FOR UPDATE OF c)
    UPDATE checks AS c SET
      status = r.status::"CheckStatus",
      outcome = r.outcome::"CheckOutcome",
      masked_identity_number = r.masked_identity_number,
      masked_first_name = r.masked_first_name,
      masked_last_name = r.masked_last_name,
      code_expires_at = r.code_expires_at,
      identity_match = r.identity_match,
      plus = r.plus,
      error_code = r.error_code,
      error_message = r.error_message,
      code_cipher = NULL,
      completed_at = now(),
      updated_at = now()
    FROM r, target
    WHERE c.id = r.id AND c.id = target.id AND c.status IN ('queued', 'processing')
    RETURNING c.id, c.kind, c.batch_id, c.status, c.outcome, c.error_code,
      EXTRACT(EPOCH FROM (c.completed_at - c.created_at))::float8 AS latency`,
  completeBatchIfDone: `UPDATE batches SET status = 'completed', completed_at = now()
    WHERE id = $1::uuid AND status <> 'completed'
      AND NOT EXISTS (
        SELECT 1 FROM checks WHERE batch_id = $1::uuid AND status IN ('queued', 'processing'))`,
  completeFinishedBatches: `UPDATE batches AS b SET status = 'completed', completed_at = now()
    WHERE b.status <> 'completed'
      AND b.created_at < now() - make_interval(secs => $1::float8)
      AND NOT EXISTS (
        SELECT 1 FROM checks AS c WHERE c.batch_id = b.id AND c.status IN ('queued', 'processing'))`,
  assignJobs: `WITH a AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1::jsonb) AS a(id uuid, job_id text)),
    target AS MATERIALIZED (
      SELECT c.id FROM checks AS c JOIN a ON c.id = a.id
      WHERE c.status IN ('queued', 'processing') ORDER BY c.id FOR UPDATE OF c)
    UPDATE checks AS c SET job_id = a.job_id, status = 'queued', updated_at = now()
    FROM a, target WHERE c.id = a.id AND c.id = target.id`,
  purgeChecks: `DELETE FROM checks WHERE id IN (
      SELECT id FROM checks WHERE completed_at < $1::timestamptz LIMIT $2)`,
  purgeBatches: `DELETE FROM batches AS b WHERE b.completed_at < $1::timestamptz
      AND NOT EXISTS (SELECT 1 FROM checks AS c WHERE c.batch_id = b.id)`,
  purgeIdempotencyRecords: 'DELETE FROM idempotency_records WHERE created_at < $1::timestamptz',
  databaseNow: 'SELECT now() AS now',
  oldestPendingAge: `SELECT EXTRACT(EPOCH FROM now() - LEAST(
      (SELECT min(updated_at) FROM checks WHERE status = 'queued'),
      (SELECT min(updated_at) FROM checks WHERE status = 'processing')))::float8 AS age`,
} as const;

/**
 * Pending checks nobody has touched for `staleMs` (index on (status, updated_at)), oldest first. Read
 * through a cursor, so a pass holds one page in memory however many rows are stale.
 */
const STALE_CURSOR = `DECLARE hes_stale NO SCROLL CURSOR FOR
  SELECT id, kind, batch_id, job_id, request_id FROM checks
  WHERE status IN ('queued', 'processing')
    AND updated_at < now() - make_interval(secs => $1::float8)
  ORDER BY updated_at
  LIMIT $2`;

/**
 * Every SQL statement of the worker, on a plain `pg` pool (Prisma's query compiler cost more CPU than
 * the rest of a 500-code job). Writes are guarded by `status IN ('queued','processing')`, so a
 * redelivered or duplicated job can never write a second result, and RETURNING tells the caller which
 * rows it really finalised (metrics and events count those only).
 *
 * A check is written twice, and that is the minimum the contract allows: the claim (queued →
 * processing, the attempt counted, SPEC §4's progress counts) and the final write. Both change
 * indexed columns (status, updated_at, completed_at), so neither can be a HOT update.
 */
export class ChecksRepository {
  readonly #db: PgPool;
  readonly #claimDb: PgPool;
  /**
   * Single-check jobs (one check each) that claim or finish together share one statement: at 50
   * waiting clients that is most of the worker's SQL. Bulk jobs already write their 500 rows at once.
   */
  readonly #singleClaims = coalescer((ids: readonly string[]) => this.#claimEach(ids));
  readonly #singleResults = coalescer((results: readonly FinalResult[]) => this.#writeEach(results));

  /**
   * `claimDb` (default `db`) may be a pool with `synchronous_commit=off`: a claim lost in a PostgreSQL
   * crash only leaves its checks queued to be claimed again, and the result write that follows (on
   * `db`, durable) flushes the claim's WAL with it. It saves a WAL flush wait on every job.
   */
  constructor(db: PgPool, claimDb: PgPool = db) {
    this.#db = db;
    this.#claimDb = claimDb;
  }

  #run<R extends object = Record<string, unknown>>(
    name: keyof typeof SQL,
    values: unknown[],
    db: PgPool = this.#db,
  ) {
    return db.query<R & Record<string, unknown>>({ name: `hes_worker_${name}`, text: SQL[name], values });
  }

  /** Marks the job's still-pending checks `processing`, counts the attempt, and returns them: one UPDATE. */
  async claim(ids: readonly string[]): Promise<ClaimedCheck[]> {
    if (ids.length === 0) return [];
    if (ids.length === 1) {
      const claimed = await this.#singleClaims.load(ids[0]!);
      return claimed ? [claimed] : [];
    }
    return this.#claimNow(ids);
  }

  /** Each caller's one id: its claimed row, or null when the check is no longer pending. */
  async #claimEach(ids: readonly string[]): Promise<(ClaimedCheck | null)[]> {
    const rows = await this.#claimNow([...new Set(ids)]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    // The same check in two jobs at once (a re-drive racing its original): the first caller has it.
    return ids.map((id) => {
      const row = byId.get(id) ?? null;
      byId.delete(id);
      return row;
    });
  }

  async #claimNow(ids: readonly string[]): Promise<ClaimedCheck[]> {
    const { rows } = await this.#run<{
      id: string;
      kind: CheckKind;
      batch_id: string | null;
      code_cipher: Uint8Array | null;
      identity_last3: string | null;
      visit: unknown;
    }>('claim', [ids], this.#claimDb);
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      batchId: r.batch_id,
      codeCipher: r.code_cipher,
      identityLast3: r.identity_last3,
      visit: r.visit,
    }));
  }

  /** The batch of a check that is already final (null when pending or gone). */
  async finalStateOf(id: string): Promise<{ batchId: string | null } | null> {
    const { rows } = await this.#run<{ batch_id: string | null }>('finalStateOf', [id]);
    return rows[0] ? { batchId: rows[0].batch_id } : null;
  }

  async markBatchRunning(batchId: string): Promise<void> {
    await this.#run('markBatchRunning', [batchId]);
  }

  /**
   * One statement for the whole chunk (up to 500 rows): the results travel as one JSON document. The
   * ciphertext is erased on every final status (SPEC §6). A plain UPDATE of `checks`, so the webhook
   * outbox triggers see every result.
   */
  async writeFinal(results: readonly FinalResult[]): Promise<FinalizedRow[]> {
    if (results.length === 0) return [];
    if (results.length === 1) {
      const written = await this.#singleResults.load(results[0]!);
      return written ? [written] : [];
    }
    return this.#writeNow(results);
  }

  /**
   * Each caller's one result: its finalised row, or null when the check was final already. A check
   * twice in one statement would be written once but reported to both; its second result waits for
   * the next statement, where the status guard turns it away as it would have alone.
   */
  async #writeEach(results: readonly FinalResult[]): Promise<(FinalizedRow | Error | null)[]> {
    const seen = new Set<string>();
    const now: FinalResult[] = [];
    const later: number[] = [];
    results.forEach((r, i) => {
      if (seen.has(r.id)) later.push(i);
      else {
        seen.add(r.id);
        now.push(r);
      }
    });
    const byId = new Map((await this.#writeNow(now)).map((row) => [row.id, row]));
    const answers: (FinalizedRow | Error | null)[] = results.map((r) => byId.get(r.id) ?? null);
    for (const i of later) {
      answers[i] = await this.#writeNow([results[i]!]).then((rows) => rows[0] ?? null, asError);
    }
    return answers;
  }

  async #writeNow(results: readonly FinalResult[]): Promise<FinalizedRow[]> {
    const doc = JSON.stringify(
      results.map((r) =>
        r.status === 'completed'
          ? {
              id: r.id,
              status: r.status,
              outcome: r.outcome,
              masked_identity_number: r.maskedIdentityNumber ?? null,
              masked_first_name: r.maskedFirstName ?? null,
              masked_last_name: r.maskedLastName ?? null,
              code_expires_at: r.codeExpiresAt?.toISOString() ?? null,
              identity_match: r.identityMatch ?? null,
              plus: r.plus ?? null,
              error_code: null,
              error_message: null,
            }
          : { id: r.id, status: r.status, error_code: r.errorCode, error_message: r.errorMessage },
      ),
    );
    const { rows } = await this.#run<{
      id: string;
      kind: CheckKind;
      batch_id: string | null;
      status: 'completed' | 'failed';
      outcome: CheckOutcome | null;
      error_code: string | null;
      latency: number;
    }>('writeFinal', [doc]);
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      batchId: r.batch_id,
      status: r.status,
      outcome: r.outcome,
      errorCode: r.error_code,
      latencySeconds: Number(r.latency),
    }));
  }

  /**
   * Completes the batch when none of its checks is pending. Each job runs this after its own write has
   * committed, so whichever job commits last sees every other job's rows final: no batch is left open,
   * and `status <> 'completed'` makes a second completion a no-op.
   */
  async completeBatchIfDone(batchId: string): Promise<boolean> {
    const { rowCount } = await this.#run('completeBatchIfDone', [batchId]);
    return (rowCount ?? 0) > 0;
  }

  /** Closes batches that have no pending check left (older than `minAgeMs`, so a batch being inserted is safe). */
  async completeFinishedBatches(minAgeMs: number): Promise<number> {
    const { rowCount } = await this.#run('completeFinishedBatches', [minAgeMs / 1000]);
    return rowCount ?? 0;
  }

  /**
   * Hands the stale pending checks (at most `maxRows`, oldest first) to `onPage` in pages of `pageSize`
   * and returns how many there were. The scan is one read-only transaction on its own connection;
   * `onPage` may write through the pool meanwhile (the cursor reads its snapshot, unaffected).
   */
  async scanStalePending(
    staleMs: number,
    maxRows: number,
    pageSize: number,
    onPage: (rows: StaleCheck[]) => Promise<void>,
  ): Promise<number> {
    const client = await this.#db.connect();
    let scanned = 0;
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(STALE_CURSOR, [staleMs / 1000, maxRows]);
      for (;;) {
        const { rows } = await client.query<{
          id: string;
          kind: CheckKind;
          batch_id: string | null;
          job_id: string | null;
          request_id: string | null;
        }>(`FETCH ${Math.max(1, Math.floor(pageSize))} FROM hes_stale`);
        if (rows.length === 0) break;
        scanned += rows.length;
        await onPage(
          rows.map((r) => ({
            id: r.id,
            kind: r.kind,
            batchId: r.batch_id,
            jobId: r.job_id,
            requestId: r.request_id,
          })),
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(err instanceof Error ? err : true);
      throw err;
    }
    client.release();
    return scanned;
  }

  /** Points re-driven checks at their (new) job and restarts their staleness clock. */
  async assignJobs(assignments: readonly { id: string; jobId: string }[]): Promise<number> {
    if (assignments.length === 0) return 0;
    const doc = JSON.stringify(assignments.map((a) => ({ id: a.id, job_id: a.jobId })));
    const { rowCount } = await this.#run('assignJobs', [doc]);
    return rowCount ?? 0;
  }

  /** Deletes at most `limit` final checks completed before `cutoff`; returns how many. */
  /** PostgreSQL's clock: the one that stamped completed_at, so cutoffs do not depend on a worker's clock. */
  async databaseNow(): Promise<Date> {
    const { rows } = await this.#run<{ now: Date }>('databaseNow', []);
    return rows[0]!.now;
  }

  async purgeChecks(cutoff: Date, limit: number): Promise<number> {
    const { rowCount } = await this.#run('purgeChecks', [cutoff, limit]);
    return rowCount ?? 0;
  }

  async purgeBatches(cutoff: Date): Promise<number> {
    const { rowCount } = await this.#run('purgeBatches', [cutoff]);
    return rowCount ?? 0;
  }

  async purgeIdempotencyRecords(cutoff: Date): Promise<number> {
    const { rowCount } = await this.#run('purgeIdempotencyRecords', [cutoff]);
    return rowCount ?? 0;
  }

  /**
   * Seconds since the oldest pending check was accepted or last touched: two index probes on
   * (status, updated_at), cheap enough for every scrape.
   */
  async oldestPendingAgeSeconds(): Promise<number> {
    const { rows } = await this.#run<{ age: number | null }>('oldestPendingAge', []);
    return Math.max(0, Number(rows[0]?.age ?? 0));
  }
}

import {
  asError,
  type CheckKind,
  type CheckOutcome,
  type CheckRow,
  type CheckStatus,
  coalescer,
  type PgPool,
  type PrismaClient,
} from '@hes/core';

/** A single check as the intake stores it; every other column takes its default. */
export interface NewCheck {
  id: string;
  kind: CheckKind;
  status: CheckStatus;
  codeCipher: Uint8Array;
  codeHmac: string;
  codeMasked: string;
  reference: string | null;
  identityLast3: string | null;
  visit?: Record<string, unknown> | undefined;
  jobId: string;
  requestId: string;
  apiKeyId: string;
}

export interface IdempotencyClaim {
  apiKeyId: string;
  key: string;
  requestHash: string;
}

export interface IdempotencyRecordView {
  requestHash: string;
  checkId: string;
}

export type InsertResult =
  | { status: 'created'; row: CheckRow }
  | { status: 'replay'; record: IdempotencyRecordView }
  /** Lost the race to a request whose record vanished before it could be read (retention purge). */
  | { status: 'in-progress' };

export interface CheckFilter {
  reference?: string | undefined;
  status?: CheckStatus | undefined;
  outcome?: CheckOutcome | undefined;
  batchId?: string | undefined;
  since?: Date | undefined;
  identityMatch?: boolean | undefined;
}

/** A row of `checks` as node-postgres returns it (snake_case, bigint as text). */
interface CheckPgRow {
  id: string;
  seq: string;
  kind: CheckKind;
  status: CheckStatus;
  outcome: CheckOutcome | null;
  code_hmac: string | null;
  code_masked: string;
  code_cipher: null;
  reference: string | null;
  identity_last3: string | null;
  identity_match: boolean | null;
  batch_id: string | null;
  visit: CheckRow['visit'];
  masked_identity_number: string | null;
  masked_first_name: string | null;
  masked_last_name: string | null;
  code_expires_at: Date | null;
  plus: CheckRow['plus'];
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  job_id: string | null;
  request_id: string | null;
  api_key_id: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

interface InsertedPgRow {
  id: string;
  seq: string;
  created_at: Date;
  updated_at: Date;
}

/** Every column but the ciphertext, which no answer needs and which the worker erases anyway. */
const COLUMNS = `id, seq, kind, status, outcome, code_hmac, code_masked, NULL::bytea AS code_cipher, reference,
  identity_last3, identity_match, batch_id, visit, masked_identity_number, masked_first_name,
  masked_last_name, code_expires_at, plus, error_code, error_message, attempts, job_id, request_id,
  api_key_id, created_at, updated_at, completed_at`;

const INSERT_CHECK = `INSERT INTO checks (id, kind, status, code_cipher, code_hmac, code_masked, reference,
    identity_last3, visit, job_id, request_id, api_key_id)
  VALUES ($1::uuid, $2::"CheckKind", $3::"CheckStatus", $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12::uuid)
  RETURNING id, seq, created_at, updated_at`;

/** INSERT_CHECK for the checks of requests that arrived together: one statement, one commit. */
const INSERT_CHECKS = `INSERT INTO checks (id, kind, status, code_cipher, code_hmac, code_masked, reference,
    identity_last3, visit, job_id, request_id, api_key_id)
  SELECT * FROM unnest($1::uuid[], $2::"CheckKind"[], $3::"CheckStatus"[], $4::bytea[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::jsonb[], $10::text[], $11::text[], $12::uuid[])
  RETURNING id, seq, created_at, updated_at`;

/** The INSERT_CHECK parameters of one check. */
function insertValues(check: NewCheck): unknown[] {
  return [
    check.id,
    check.kind,
    check.status,
    Buffer.from(check.codeCipher.buffer, check.codeCipher.byteOffset, check.codeCipher.byteLength),
    check.codeHmac,
    check.codeMasked,
    check.reference,
    check.identityLast3,
    check.visit === undefined ? null : JSON.stringify(check.visit),
    check.jobId,
    check.requestId,
    check.apiKeyId,
  ];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The row as inserted: the columns the database fills in come back from RETURNING, the rest is what
 * was sent (the other columns are NULL or their defaults on a new check), so no column is parsed twice.
 */
function insertedRow(c: NewCheck, r: { seq: string; created_at: Date; updated_at: Date }): CheckRow {
  return {
    id: c.id,
    seq: BigInt(r.seq),
    kind: c.kind,
    status: c.status,
    outcome: null,
    codeHmac: c.codeHmac,
    codeMasked: c.codeMasked,
    codeCipher: null,
    reference: c.reference,
    identityLast3: c.identityLast3,
    identityMatch: null,
    batchId: null,
    visit: (c.visit ?? null) as CheckRow['visit'],
    maskedIdentityNumber: null,
    maskedFirstName: null,
    maskedLastName: null,
    codeExpiresAt: null,
    plus: null,
    errorCode: null,
    errorMessage: null,
    attempts: 0,
    jobId: c.jobId,
    requestId: c.requestId,
    apiKeyId: c.apiKeyId,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: null,
  };
}

function toCheckRow(r: CheckPgRow): CheckRow {
  return {
    id: r.id,
    seq: BigInt(r.seq),
    kind: r.kind,
    status: r.status,
    outcome: r.outcome,
    codeHmac: r.code_hmac,
    codeMasked: r.code_masked,
    codeCipher: r.code_cipher,
    reference: r.reference,
    identityLast3: r.identity_last3,
    identityMatch: r.identity_match,
    batchId: r.batch_id,
    visit: r.visit,
    maskedIdentityNumber: r.masked_identity_number,
    maskedFirstName: r.masked_first_name,
    maskedLastName: r.masked_last_name,
    codeExpiresAt: r.code_expires_at,
    plus: r.plus,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    attempts: r.attempts,
    jobId: r.job_id,
    requestId: r.request_id,
    apiKeyId: r.api_key_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
  };
}

/**
 * The single-check hot path (insert, read by id, Idempotency-Key records) runs on the `pg` pool with
 * named prepared statements: Prisma's query compiler cost more CPU per POST /v1/checks than the rest
 * of the request together. Listings stay on Prisma (dynamic filters, not per-check traffic).
 */
export class ChecksRepository {
  readonly #prisma: PrismaClient;
  readonly #pool: PgPool;
  /** Checks without an Idempotency-Key from requests that arrive together: one INSERT for all. */
  readonly #inserts = coalescer((checks: readonly NewCheck[]) => this.#insertMany(checks));
  readonly #reads = coalescer((ids: readonly string[]) => this.#findEach(ids));

  constructor(prisma: PrismaClient, pool: PgPool) {
    this.#prisma = prisma;
    this.#pool = pool;
  }

  async #insertOne(check: NewCheck): Promise<InsertedPgRow> {
    const { rows } = await this.#pool.query<InsertedPgRow>({
      name: 'hes_check_insert',
      text: INSERT_CHECK,
      values: insertValues(check),
    });
    return rows[0]!;
  }

  async #insertMany(checks: readonly NewCheck[]): Promise<(InsertedPgRow | Error)[]> {
    if (checks.length === 1) return [await this.#insertOne(checks[0]!).catch(asError)];
    const columns: unknown[][] = Array.from({ length: 12 }, () => new Array(checks.length));
    checks.forEach((check, i) => {
      insertValues(check).forEach((value, c) => {
        columns[c]![i] = value;
      });
    });
    try {
      const { rows } = await this.#pool.query<InsertedPgRow>({
        name: 'hes_checks_insert_many',
        text: INSERT_CHECKS,
        values: columns,
      });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return checks.map((c) => byId.get(c.id) ?? new Error(`check ${c.id} missing from RETURNING`));
    } catch {
      // One statement stood for several requests: whatever failed it, each gets its own answer (its
      // own error, or its row if only another request's check was at fault).
      return Promise.all(checks.map((c) => this.#insertOne(c).catch(asError)));
    }
  }

  /** Reads of requests that arrive together (`?wait=` answers woken by one event burst) share one SELECT. */
  async findById(id: string): Promise<CheckRow | null> {
    return UUID.test(id) ? this.#reads.load(id.toLowerCase()) : null;
  }

  async #findEach(ids: readonly string[]): Promise<(CheckRow | null)[]> {
    const { rows } = await this.#pool.query<CheckPgRow>({
      name: 'hes_checks_by_id',
      text: `SELECT ${COLUMNS} FROM checks WHERE id = ANY($1::uuid[])`,
      values: [[...new Set(ids)]],
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const row = byId.get(id);
      return row ? toCheckRow(row) : null;
    });
  }

  async findIdempotency(apiKeyId: string, key: string): Promise<IdempotencyRecordView | null> {
    const { rows } = await this.#pool.query<{ request_hash: string; check_id: string }>({
      name: 'hes_idempotency_by_key',
      text: 'SELECT request_hash, check_id FROM idempotency_records WHERE api_key_id = $1::uuid AND key = $2',
      values: [apiKeyId, key],
    });
    const r = rows[0];
    return r ? { requestHash: r.request_hash, checkId: r.check_id } : null;
  }

  /**
   * Stores a single check with one `INSERT … RETURNING` that also yields the row for the answer. With an
   * Idempotency-Key the check and its record are written in one transaction and the record's primary
   * key (api_key_id, key) arbitrates: a concurrent duplicate blocks on the uncommitted key, then finds it
   * taken and rolls its own check back.
   */
  async insert(check: NewCheck, claim?: IdempotencyClaim): Promise<InsertResult> {
    if (!claim) return { status: 'created', row: insertedRow(check, await this.#inserts.load(check)) };
    const insert = { name: 'hes_check_insert', text: INSERT_CHECK, values: insertValues(check) };
    const client = await this.#pool.connect();
    let created: CheckRow | null = null;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<InsertedPgRow>(insert);
      const { rowCount } = await client.query({
        name: 'hes_idempotency_insert',
        text: `INSERT INTO idempotency_records (api_key_id, key, request_hash, check_id)
          VALUES ($1::uuid, $2, $3, $4::uuid) ON CONFLICT (api_key_id, key) DO NOTHING`,
        values: [claim.apiKeyId, claim.key, claim.requestHash, check.id],
      });
      if (rowCount === 1) {
        await client.query('COMMIT');
        created = insertedRow(check, rows[0]!);
      } else {
        await client.query('ROLLBACK');
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(err instanceof Error ? err : true);
      throw err;
    }
    client.release();
    if (created) return { status: 'created', row: created };
    const record = await this.findIdempotency(claim.apiKeyId, claim.key);
    return record ? { status: 'replay', record } : { status: 'in-progress' };
  }

  /** One page in insertion order; `limit + 1` rows are read so the caller knows whether more follow. */
  page(filter: CheckFilter, afterSeq: bigint | null, limit: number): Promise<CheckRow[]> {
    return this.#prisma.check.findMany({
      where: {
        ...(filter.reference !== undefined ? { reference: filter.reference } : {}),
        ...(filter.status !== undefined ? { status: filter.status } : {}),
        ...(filter.outcome !== undefined ? { outcome: filter.outcome } : {}),
        ...(filter.batchId !== undefined ? { batchId: filter.batchId } : {}),
        ...(filter.since !== undefined ? { createdAt: { gte: filter.since } } : {}),
        ...(filter.identityMatch !== undefined ? { identityMatch: filter.identityMatch } : {}),
        ...(afterSeq !== null ? { seq: { gt: afterSeq } } : {}),
      },
      orderBy: { seq: 'asc' },
      take: limit + 1,
    });
  }
}

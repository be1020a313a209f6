import { randomUUID } from 'node:crypto';
import { MAX_BULK_CODES } from '@hes/client';
import type { CodeVault } from '../crypto/code-vault.js';
import { type CheckKind, isBulkKind } from '../domain/check-types.js';
import { bulkJobId, singleJobId } from '../queue/catalog.js';
import { type PlannedJob, planBulk, planSingle } from '../queue/enqueue.js';

/** Rows per INSERT statement: large enough to amortise round trips, small enough to pipeline. */
export const CHECK_CHUNK_ROWS = 5_000;

/**
 * Column arrays of up to CHECK_CHUNK_ROWS batch checks. INVALID rows have a null cipher (and hmac and
 * job). Job ids repeat for 500 rows of a bulk job, so rows carry a 1-based index into `jobIds`.
 */
export interface CheckChunk {
  ids: string[];
  masked: string[];
  ciphers: (Buffer | null)[];
  hmacs: (string | null)[];
  references: (string | null)[];
  identityLast3: (string | null)[];
  jobIndex: (number | null)[];
  jobIds: string[];
}

/**
 * One item of a batch once its code is read: `code` is the normalised code, or null when the input was
 * not a HES code (the check is INVALID at birth). `hmac` may be passed when already known (a stored
 * roster keeps it), saving the recomputation.
 */
export interface ChunkItem {
  code: string | null;
  masked: string;
  hmac?: string | null | undefined;
  reference: string | null;
  identityLast3: string | null;
}

/**
 * Builds the chunks of one batch, in roster order: id, encryption bound to the check id, HMAC and the
 * job that will carry each valid check (its id is stored in job_id). Bulk jobs take valid checks in
 * roster order, MAX_BULK_CODES at a time, exactly as planJobs() groups them afterwards.
 */
export class CheckChunkBuilder {
  readonly #kind: CheckKind;
  readonly #batchId: string;
  readonly #vault: CodeVault;
  readonly #bulk: boolean;
  #bulkJob = '';
  /** The valid check ids, in roster order. */
  readonly validIds: string[] = [];
  total = 0;

  constructor(kind: CheckKind, batchId: string, vault: CodeVault) {
    this.#kind = kind;
    this.#batchId = batchId;
    this.#vault = vault;
    this.#bulk = isBulkKind(kind);
  }

  get invalid(): number {
    return this.total - this.validIds.length;
  }

  build(items: readonly ChunkItem[]): CheckChunk {
    const size = items.length;
    const c: CheckChunk = {
      ids: new Array(size),
      masked: new Array(size),
      ciphers: new Array(size),
      hmacs: new Array(size),
      references: new Array(size),
      identityLast3: new Array(size),
      jobIndex: new Array(size),
      jobIds: [],
    };
    for (let k = 0; k < size; k++) {
      const item = items[k]!;
      const id = randomUUID();
      c.ids[k] = id;
      c.masked[k] = item.masked;
      c.references[k] = item.reference;
      c.identityLast3[k] = item.identityLast3;
      if (item.code !== null) {
        const ordinal = this.validIds.push(id) - 1;
        if (this.#bulk && ordinal % MAX_BULK_CODES === 0) this.#bulkJob = bulkJobId(this.#batchId, id);
        const jobId = this.#bulk ? this.#bulkJob : singleJobId(id);
        if (c.jobIds.at(-1) !== jobId) c.jobIds.push(jobId);
        c.jobIndex[k] = c.jobIds.length;
        c.ciphers[k] = this.#vault.encrypt(item.code, id);
        c.hmacs[k] = item.hmac ?? this.#vault.hmac(item.code);
      } else {
        c.jobIndex[k] = null;
        c.ciphers[k] = null;
        c.hmacs[k] = null;
      }
    }
    this.total += size;
    return c;
  }

  /** The jobs for the valid checks: bulk jobs of up to 500 for standard/plus, else one per check. */
  planJobs(requestId?: string): PlannedJob[] {
    const kind = this.#kind;
    return isBulkKind(kind)
      ? planBulk(kind, this.#batchId, this.validIds, requestId)
      : this.validIds.map((id) => planSingle(id, requestId, 'roster'));
  }
}

import {
  type CheckKind,
  type CodeVault,
  inTransaction,
  type PgPool,
  type PgPoolClient,
  type Prisma,
  type PrismaClient,
  sealRosterCode,
} from '@hes/core';
import { ApiProblem } from '../domain/problem.js';
import type { TimeKey } from '../domain/roster-cursor.js';
import type { RosterItem } from '../domain/roster-parsers.js';

export type RosterRow = Prisma.RosterModel;
/** An item as listed: the ciphertext is not even read. */
export type RosterItemRow = Omit<Prisma.RosterItemModel, 'codeCipher'>;

export interface NewRoster {
  name: string;
  kind: CheckKind;
  cron: string | null;
  timeZone: string;
  apiKeyId: string | null;
}

export type RosterPatch = Partial<Pick<RosterRow, 'name' | 'kind' | 'cron' | 'timeZone'>>;

/** Rows per INSERT of roster items (as for batch checks). */
const ITEM_CHUNK_ROWS = 5_000;

const INSERT_ROSTER = `
  INSERT INTO rosters (name, kind, cron, time_zone, api_key_id)
  VALUES ($1, $2::"CheckKind", $3, $4, $5::uuid) RETURNING id`;
const LOCK_ROSTER = 'SELECT id FROM rosters WHERE id = $1::uuid FOR UPDATE';
const DELETE_ITEMS = 'DELETE FROM roster_items WHERE roster_id = $1::uuid';
const INSERT_ITEMS = `
  INSERT INTO roster_items (roster_id, position, reference, identity_last3, code_masked, code_hmac, code_cipher)
  SELECT $1::uuid, r.position, r.reference, r.last3, r.masked, r.hmac, r.cipher
  FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[])
       AS r(position, reference, last3, masked, hmac, cipher)`;
const SET_COUNT = 'UPDATE rosters SET item_count = $2, updated_at = now() WHERE id = $1::uuid';

const nameTaken = (name: string, cause?: unknown) =>
  new ApiProblem('ROSTER_NAME_TAKEN', { detail: `A roster named ${JSON.stringify(name)} exists`, cause });

const isUniqueViolation = (err: unknown) =>
  typeof err === 'object' &&
  err !== null &&
  ((err as { code?: unknown }).code === '23505' || (err as { code?: unknown }).code === 'P2002');

/**
 * Stored rosters. Reads go through Prisma; writes of items go through the pg pool in one transaction
 * with multi-row INSERTs (a 100 000-item roster is 20 statements, not 100 000), the codes sealed with
 * the vault (AAD = roster-item:<rosterId>:<position>).
 */
export class RostersRepository {
  readonly #prisma: PrismaClient;
  readonly #pool: PgPool;
  readonly #vault: CodeVault;

  constructor(prisma: PrismaClient, pool: PgPool, vault: CodeVault) {
    this.#prisma = prisma;
    this.#pool = pool;
    this.#vault = vault;
  }

  /** The roster and its items in one transaction; ROSTER_NAME_TAKEN when the name is used. */
  async create(roster: NewRoster, items: readonly RosterItem[]): Promise<RosterRow> {
    let id: string;
    try {
      id = await inTransaction(this.#pool, async (client) => {
        const inserted = await client.query<{ id: string }>(INSERT_ROSTER, [
          roster.name,
          roster.kind,
          roster.cron,
          roster.timeZone,
          roster.apiKeyId,
        ]);
        const rosterId = inserted.rows[0]!.id;
        if (items.length > 0) await this.#writeItems(client, rosterId, items);
        return rosterId;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(roster.name, err);
      throw err;
    }
    return (await this.findById(id))!;
  }

  findById(id: string): Promise<RosterRow | null> {
    return this.#prisma.roster.findUnique({ where: { id } });
  }

  /** Oldest first; `limit + 1` rows so the caller knows whether more follow. */
  list(limit: number, after: TimeKey | null): Promise<RosterRow[]> {
    return this.#prisma.roster.findMany({
      where: after
        ? {
            OR: [
              { createdAt: { gt: after.createdAt } },
              { createdAt: after.createdAt, id: { gt: after.id } },
            ],
          }
        : {},
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit + 1,
    });
  }

  /** null when there is no such roster. */
  async update(id: string, patch: RosterPatch): Promise<RosterRow | null> {
    try {
      return await this.#prisma.roster.update({ where: { id }, data: patch });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'P2025') return null;
      if (isUniqueViolation(err)) throw nameTaken(patch.name ?? '', err);
      throw err;
    }
  }

  /**
   * Replaces every item in one transaction: a reader (or a run) sees the old list or the new one,
   * never a mix, and a failure leaves the old list. The roster row is locked first, so a run in
   * progress finishes with the list it started with. null when there is no such roster.
   */
  async replaceItems(id: string, items: readonly RosterItem[]): Promise<RosterRow | null> {
    const found = await inTransaction(this.#pool, async (client) => {
      if ((await client.query(LOCK_ROSTER, [id])).rowCount === 0) return false;
      await client.query(DELETE_ITEMS, [id]);
      await this.#writeItems(client, id, items);
      return true;
    });
    return found ? this.findById(id) : null;
  }

  async #writeItems(client: PgPoolClient, rosterId: string, items: readonly RosterItem[]): Promise<void> {
    let pending: Promise<unknown> | null = null;
    for (let start = 0; start < items.length; start += ITEM_CHUNK_ROWS) {
      const end = Math.min(items.length, start + ITEM_CHUNK_ROWS);
      const positions: number[] = [];
      const references: (string | null)[] = [];
      const last3: (string | null)[] = [];
      const masked: string[] = [];
      const hmacs: (string | null)[] = [];
      const ciphers: (Buffer | null)[] = [];
      for (let i = start; i < end; i++) {
        const item = items[i]!;
        const sealed = sealRosterCode(this.#vault, rosterId, i, item.hesCode);
        positions.push(i);
        references.push(item.reference);
        last3.push(item.identityLast3);
        masked.push(sealed.masked);
        hmacs.push(sealed.hmac);
        ciphers.push(sealed.cipher);
      }
      // The next chunk is sealed while PostgreSQL inserts this one.
      if (pending) await pending;
      pending = client.query(INSERT_ITEMS, [rosterId, positions, references, last3, masked, hmacs, ciphers]);
      pending.catch(() => {});
    }
    if (pending) await pending;
    await client.query(SET_COUNT, [rosterId, items.length]);
  }

  /** In roster order, after `afterPosition`; `limit + 1` rows. */
  items(id: string, limit: number, afterPosition: number | null): Promise<RosterItemRow[]> {
    return this.#prisma.rosterItem.findMany({
      where: { rosterId: id, ...(afterPosition !== null ? { position: { gt: afterPosition } } : {}) },
      select: {
        rosterId: true,
        position: true,
        reference: true,
        identityLast3: true,
        codeMasked: true,
        codeHmac: true,
      },
      orderBy: { position: 'asc' },
      take: limit + 1,
    });
  }

  /** false when there was no such roster. Its batches stay (roster_id set null by the foreign key). */
  async delete(id: string): Promise<boolean> {
    const { count } = await this.#prisma.roster.deleteMany({ where: { id } });
    return count > 0;
  }
}

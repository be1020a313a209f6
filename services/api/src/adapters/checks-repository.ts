import type { CheckOutcome, CheckRow, CheckStatus, Prisma, PrismaClient } from '@hes/core';

export type NewCheck = Prisma.CheckUncheckedCreateInput & { id: string };

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
  | { status: 'created' }
  | { status: 'replay'; record: IdempotencyRecordView }
  /** Lost the race to a request whose record vanished before it could be read (retention purge). */
  | { status: 'in-progress' };

export interface CheckFilter {
  reference?: string | undefined;
  status?: CheckStatus | undefined;
  outcome?: CheckOutcome | undefined;
  batchId?: string | undefined;
  since?: Date | undefined;
}

class IdempotencyConflict extends Error {}

export class ChecksRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  findById(id: string): Promise<CheckRow | null> {
    return this.#prisma.check.findUnique({ where: { id } });
  }

  findIdempotency(apiKeyId: string, key: string): Promise<IdempotencyRecordView | null> {
    return this.#prisma.idempotencyRecord.findUnique({
      where: { apiKeyId_key: { apiKeyId, key } },
      select: { requestHash: true, checkId: true },
    });
  }

  /**
   * Stores a single check. With an Idempotency-Key the check and its record are written in one
   * transaction and the record's primary key (api_key_id, key) arbitrates: a concurrent duplicate
   * blocks on the uncommitted key, then finds it taken and rolls its own check back.
   */
  async insert(check: NewCheck, claim?: IdempotencyClaim): Promise<InsertResult> {
    if (!claim) {
      await this.#prisma.check.create({ data: check, select: { id: true } });
      return { status: 'created' };
    }
    try {
      await this.#prisma.$transaction(async (tx) => {
        await tx.check.create({ data: check, select: { id: true } });
        const inserted = await tx.$executeRaw`
          INSERT INTO idempotency_records (api_key_id, key, request_hash, check_id)
          VALUES (${claim.apiKeyId}::uuid, ${claim.key}, ${claim.requestHash}, ${check.id}::uuid)
          ON CONFLICT (api_key_id, key) DO NOTHING`;
        if (inserted === 0) throw new IdempotencyConflict();
      });
      return { status: 'created' };
    } catch (err) {
      if (!(err instanceof IdempotencyConflict)) throw err;
    }
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
        ...(afterSeq !== null ? { seq: { gt: afterSeq } } : {}),
      },
      orderBy: { seq: 'asc' },
      take: limit + 1,
    });
  }
}

import type { BatchRow, CheckOutcome, CheckStatus, PrismaClient } from '@hes/core';

export interface StatusOutcomeCount {
  status: CheckStatus;
  outcome: CheckOutcome | null;
  count: number;
}

export class BatchesRepository {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  findById(id: string): Promise<BatchRow | null> {
    return this.#prisma.batch.findUnique({ where: { id } });
  }

  /**
   * The newest batches first, after `before` (the last one of the previous page); `limit + 1` rows are
   * read so the caller knows whether more follow. Index (created_at), or (roster_id, created_at) for a
   * roster's history; ties broken by id.
   */
  recent(
    limit: number,
    before: { createdAt: Date; id: string } | null,
    filter: { rosterId?: string } = {},
  ): Promise<BatchRow[]> {
    return this.#prisma.batch.findMany({
      where: {
        ...(filter.rosterId !== undefined ? { rosterId: filter.rosterId } : {}),
        ...(before
          ? {
              OR: [
                { createdAt: { lt: before.createdAt } },
                { createdAt: before.createdAt, id: { lt: before.id } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
  }

  /** counts() for several batches in one GROUP BY. */
  async countsOf(batchIds: readonly string[]): Promise<Map<string, StatusOutcomeCount[]>> {
    const out = new Map<string, StatusOutcomeCount[]>(batchIds.map((id) => [id, []]));
    if (batchIds.length === 0) return out;
    const groups = await this.#prisma.check.groupBy({
      by: ['batchId', 'status', 'outcome'],
      where: { batchId: { in: [...batchIds] } },
      _count: { _all: true },
    });
    for (const g of groups) {
      if (g.batchId === null) continue;
      out.get(g.batchId)?.push({ status: g.status, outcome: g.outcome, count: g._count._all });
    }
    return out;
  }

  /** One GROUP BY over the batch's checks (index batch_id, status, outcome). */
  async counts(batchId: string): Promise<StatusOutcomeCount[]> {
    const groups = await this.#prisma.check.groupBy({
      by: ['status', 'outcome'],
      where: { batchId },
      _count: { _all: true },
    });
    return groups.map((g) => ({ status: g.status, outcome: g.outcome, count: g._count._all }));
  }
}

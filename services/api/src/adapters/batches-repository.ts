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

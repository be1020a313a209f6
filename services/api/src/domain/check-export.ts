import { Readable } from 'node:stream';
import { presentCheck } from '@hes/core';
import type { CheckFilter, ChecksRepository } from '../adapters/checks-repository.js';

const PAGE = 1_000;

/**
 * The rows of a CSV export, read in keyset pages (seq > last) so memory stays flat for 100 000 checks
 * and a slow client only holds back the next page (the stream pulls on demand).
 */
export function exportRows(checks: ChecksRepository, filter: CheckFilter): Readable {
  async function* rows() {
    let after: bigint | null = null;
    for (;;) {
      const page = await checks.page(filter, after, PAGE);
      for (const row of page.slice(0, PAGE)) {
        const c = presentCheck(row);
        yield {
          id: c.id,
          reference: c.reference,
          hesCode: c.hesCode,
          status: c.status,
          outcome: c.outcome,
          identityMatch: c.identityMatch,
          maskedIdentityNumber: c.person?.maskedIdentityNumber ?? null,
          maskedFirstName: c.person?.maskedFirstName ?? null,
          maskedLastName: c.person?.maskedLastName ?? null,
          codeExpiresAt: c.codeExpiresAt,
          vaccinated: c.plus?.vaccinated ?? null,
          immune: c.plus?.immune ?? null,
          testDataShared: c.plus?.testDataShared ?? null,
          lastNegativeTestAt: c.plus?.lastNegativeTestAt ?? null,
          errorCode: c.error?.code ?? null,
          completedAt: c.completedAt,
        };
      }
      if (page.length <= PAGE) return;
      after = page[PAGE - 1]!.seq;
    }
  }
  return Readable.from(rows());
}

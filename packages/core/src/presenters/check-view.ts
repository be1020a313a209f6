import type { Prisma } from '../db/prisma.js';
import type { CheckKind, CheckOutcome, CheckStatus } from '../domain/check-types.js';

export type CheckRow = Prisma.CheckModel;

export interface PlusView {
  vaccinated: boolean | null;
  immune: boolean | null;
  testDataShared: boolean | null;
  lastNegativeTestAt: string | null;
}

/** A check as the API returns it (SPEC §4). `hesCode` is the mask: the full code never leaves. */
export interface CheckView {
  id: string;
  kind: CheckKind;
  hesCode: string;
  reference: string | null;
  batchId: string | null;
  status: CheckStatus;
  outcome: CheckOutcome | null;
  person: {
    maskedIdentityNumber: string | null;
    maskedFirstName: string | null;
    maskedLastName: string | null;
  } | null;
  codeExpiresAt: string | null;
  identityMatch: boolean | null;
  plus: PlusView | null;
  error: { code: string; message: string } | null;
  attempts: number;
  createdAt: string;
  completedAt: string | null;
}

export const FINAL_STATUSES: readonly CheckStatus[] = ['completed', 'failed'];
export const isFinal = (status: CheckStatus) => FINAL_STATUSES.includes(status);

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const bool = (v: unknown) => (typeof v === 'boolean' ? v : null);

/** The worker stores `plus` already normalised; this stays defensive about rows written by older code. */
function presentPlus(row: CheckRow): PlusView | null {
  if (row.kind !== 'plus' || row.plus === null || typeof row.plus !== 'object' || Array.isArray(row.plus))
    return null;
  const p = row.plus as Record<string, unknown>;
  const last = p.lastNegativeTestAt;
  return {
    vaccinated: bool(p.vaccinated),
    immune: bool(p.immune),
    testDataShared: bool(p.testDataShared),
    lastNegativeTestAt: typeof last === 'string' ? last : null,
  };
}

export function presentCheck(row: CheckRow): CheckView {
  const hasPerson =
    row.maskedIdentityNumber !== null || row.maskedFirstName !== null || row.maskedLastName !== null;
  return {
    id: row.id,
    kind: row.kind,
    hesCode: row.codeMasked,
    reference: row.reference,
    batchId: row.batchId,
    status: row.status,
    outcome: row.outcome,
    person: hasPerson
      ? {
          maskedIdentityNumber: row.maskedIdentityNumber,
          maskedFirstName: row.maskedFirstName,
          maskedLastName: row.maskedLastName,
        }
      : null,
    codeExpiresAt: iso(row.codeExpiresAt),
    identityMatch: row.identityMatch,
    plus: presentPlus(row),
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? row.errorCode } : null,
    attempts: row.attempts,
    createdAt: row.createdAt.toISOString(),
    completedAt: iso(row.completedAt),
  };
}

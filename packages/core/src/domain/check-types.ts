/** The vocabulary of SPEC §4, shared by the API, the worker and the CLI. */
export const CHECK_KINDS = ['standard', 'employee', 'visitor', 'plus'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const CHECK_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];
export const PENDING_STATUSES = ['queued', 'processing'] as const satisfies readonly CheckStatus[];

export const CHECK_OUTCOMES = ['RISKLESS', 'RISKY', 'NOT_FOUND', 'EXPIRED', 'INVALID'] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];

export const BATCH_STATUSES = ['queued', 'running', 'completed'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** Roster kinds that have a bulk endpoint upstream (SPEC §5); employee and visitor go one by one. */
export const BULK_KINDS = ['standard', 'plus'] as const satisfies readonly CheckKind[];
export const isBulkKind = (kind: CheckKind): kind is (typeof BULK_KINDS)[number] =>
  kind === 'standard' || kind === 'plus';

/** Error codes a failed check can carry (stable: clients branch on them). */
export const CHECK_ERROR_CODES = {
  credentials: 'UPSTREAM_CREDENTIALS_REJECTED',
  exhausted: 'UPSTREAM_UNAVAILABLE',
  protocol: 'UPSTREAM_PROTOCOL_ERROR',
  undecryptable: 'CODE_UNDECRYPTABLE',
  unknownBusiness: 'UPSTREAM_REJECTED_CODE',
  /** The gateway itself kept failing on the check (a bug, a poison row): its attempts are used up. */
  processing: 'PROCESSING_FAILED',
} as const;
export type CheckErrorCode = (typeof CHECK_ERROR_CODES)[keyof typeof CHECK_ERROR_CODES];

/**
 * Whether HR's last three ID digits match the Ministry's masked identity number ("********792").
 * null when not asked, or when the Ministry gave no usable digits.
 */
export function identityMatches(
  identityLast3: string | null | undefined,
  maskedIdentity: string | null | undefined,
) {
  if (!identityLast3) return null;
  const digits = maskedIdentity?.trim().match(/(\d{3})$/)?.[1];
  if (!digits) return null;
  return digits === identityLast3;
}

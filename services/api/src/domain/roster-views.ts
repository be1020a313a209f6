import { nextCronRun } from '@hes/core';
import type { Static } from 'typebox';
import type { RosterItemRow, RosterRow } from '../adapters/rosters-repository.js';
import type { RosterItemViewSchema, RosterSchema } from '../schemas/roster.js';

/** The next fire time as the job scheduler computes it; null if the expression no longer fires. */
function nextRunAt(cron: string, timeZone: string, now: Date): string | null {
  try {
    return nextCronRun(cron, timeZone, now).toISOString();
  } catch {
    return null;
  }
}

export function presentRoster(row: RosterRow, now: Date = new Date()): Static<typeof RosterSchema> {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    itemCount: row.itemCount,
    schedule:
      row.cron === null
        ? null
        : { cron: row.cron, timeZone: row.timeZone, nextRunAt: nextRunAt(row.cron, row.timeZone, now) },
    lastRunAt: row.lastRunAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Masked only (SPEC §6): the stored ciphertext is never decrypted for a response. */
export function presentRosterItem(row: RosterItemRow): Static<typeof RosterItemViewSchema> {
  return {
    position: row.position,
    reference: row.reference,
    identityLast3: row.identityLast3,
    hesCode: row.codeMasked,
    valid: row.codeHmac !== null,
  };
}

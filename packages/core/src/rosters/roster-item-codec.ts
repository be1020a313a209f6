import { intakeCode } from '../batches/intake-code.js';
import type { CodeVault } from '../crypto/code-vault.js';

/** The AAD that binds a stored roster code to its row, so ciphertexts cannot be moved between rows. */
export const rosterItemAad = (rosterId: string, position: number) => `roster-item:${rosterId}:${position}`;

/** A roster item as stored (SPEC §6): never the code itself. */
export interface SealedRosterItem {
  masked: string;
  /** Null when the submitted text is not a HES code: it becomes an INVALID check on each run. */
  hmac: string | null;
  cipher: Buffer | null;
}

/** Normalises a submitted code and seals it for storage at `position` of `rosterId`. */
export function sealRosterCode(
  vault: CodeVault,
  rosterId: string,
  position: number,
  raw: string,
): SealedRosterItem {
  const code = intakeCode(raw);
  if (!code.ok) return { masked: code.masked, hmac: null, cipher: null };
  return {
    masked: code.masked,
    hmac: vault.hmac(code.code),
    cipher: vault.encrypt(code.code, rosterItemAad(rosterId, position)),
  };
}

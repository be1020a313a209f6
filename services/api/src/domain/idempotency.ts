import type { CodeVault } from '@hes/core';

/** JSON with sorted keys and no undefined members: equal requests serialise equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * Fingerprint of a check request for Idempotency-Key comparison. The request contains a HES code, so
 * the SHA-256 is keyed (the vault's HMAC-SHA256): an unkeyed hash of a 10-character code could be
 * brute-forced from a database dump.
 */
export function requestFingerprint(vault: CodeVault, effectiveRequest: Record<string, unknown>): string {
  return vault.hmac(`check-request/v1:${canonicalJson(effectiveRequest)}`);
}

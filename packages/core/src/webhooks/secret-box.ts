import type { CodeVault } from '../crypto/code-vault.js';

/** AAD binds a secret's ciphertext to its webhook row, so ciphertexts cannot be swapped between rows. */
const aadOf = (webhookId: string) => `webhook:${webhookId}`;

/** The signing secret at rest: AES-256-GCM under the data key (the same vault as pending HES codes). */
export function sealWebhookSecret(vault: CodeVault, webhookId: string, secret: string): Buffer<ArrayBuffer> {
  return vault.encrypt(secret, aadOf(webhookId));
}

export function openWebhookSecret(vault: CodeVault, webhookId: string, cipher: Uint8Array): string {
  return vault.decrypt(cipher, aadOf(webhookId));
}

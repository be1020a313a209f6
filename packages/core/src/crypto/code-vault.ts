import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { maskHesCode } from '@hes/client';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** IVs are drawn from a pool refilled 4 096 at a time: one getrandom call instead of one per code. */
const IV_POOL_BYTES = IV_BYTES * 4096;

export class CodeDecryptionError extends Error {
  readonly code = 'CODE_DECRYPTION_FAILED';
  constructor(options?: { cause?: unknown }) {
    super('Pending HES code could not be decrypted (wrong HES_DATA_KEY or tampered row)', options);
    this.name = 'CodeDecryptionError';
  }
}

/**
 * Everything the gateway keeps of a HES code (SPEC §6): AES-256-GCM ciphertext while a check is pending,
 * an HMAC to find repeats without the code, and a masked form for people. Encryption and HMAC keys are
 * derived separately from HES_DATA_KEY with HKDF, so one can never be used as the other.
 */
export class CodeVault {
  // KeyObjects, not raw buffers: Node imports a raw key on every cipher/HMAC it creates, which was
  // half of the CPU of a 100 000-code roster intake.
  readonly #encKey: KeyObject;
  readonly #macKey: KeyObject;
  #ivPool = Buffer.alloc(0);
  #ivOffset = 0;

  constructor(dataKey: Buffer) {
    if (dataKey.length !== 32) throw new RangeError('data key must be 32 bytes');
    this.#encKey = createSecretKey(
      Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'hes-gateway/code-encryption/v1', 32)),
    );
    this.#macKey = createSecretKey(
      Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'hes-gateway/code-hmac/v1', 32)),
    );
  }

  /** `aad` binds the ciphertext to its row (the check id), so rows cannot be swapped. */
  encrypt(code: string, aad: string): Buffer<ArrayBuffer> {
    const iv = this.#nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.#encKey, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(code, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), ct]);
  }

  decrypt(blob: Uint8Array, aad: string): string {
    const buf = Buffer.from(blob);
    if (buf.length < 1 + IV_BYTES + TAG_BYTES || buf[0] !== VERSION) throw new CodeDecryptionError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#encKey, buf.subarray(1, 1 + IV_BYTES));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(buf.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
      return Buffer.concat([
        decipher.update(buf.subarray(1 + IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch (cause) {
      throw new CodeDecryptionError({ cause });
    }
  }

  /** A fresh random IV; each pool byte is handed out once, so no IV is ever reused. */
  #nextIv(): Buffer {
    if (this.#ivOffset + IV_BYTES > this.#ivPool.length) {
      this.#ivPool = randomBytes(IV_POOL_BYTES);
      this.#ivOffset = 0;
    }
    const iv = this.#ivPool.subarray(this.#ivOffset, this.#ivOffset + IV_BYTES);
    this.#ivOffset += IV_BYTES;
    return iv;
  }

  hmac(code: string): string {
    return createHmac('sha256', this.#macKey).update(code, 'utf8').digest('hex');
  }

  mask(code: string): string {
    return maskHesCode(code);
  }
}

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signing (issue 7). A receiver recomputes HMAC-SHA256(secret, "<timestamp>.<raw body>") and
 * compares it in constant time; the timestamp is signed too, so an old delivery replayed outside the
 * tolerance window is refused even with a valid signature. The key is the secret string exactly as it
 * was shown (`whsec_…`), so integrators need no decoding step.
 */
export const WEBHOOK_HEADERS = {
  id: 'hes-webhook-id',
  event: 'hes-webhook-event',
  timestamp: 'hes-webhook-timestamp',
  signature: 'hes-webhook-signature',
} as const;

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;
const SIGNATURE_VERSION = 'v1';

/** 32 random bytes as `whsec_<base64url>`; shown once, stored encrypted. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64url');
}

const hmacHex = (secret: string, timestamp: number | string, rawBody: string | Uint8Array) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');

export interface SignedWebhookHeaders {
  'hes-webhook-id': string;
  'hes-webhook-event': string;
  'hes-webhook-timestamp': string;
  'hes-webhook-signature': string;
}

export interface SignWebhookInput {
  secret: string;
  deliveryId: string;
  event: string;
  rawBody: string;
  /** Unix seconds; default now. */
  timestamp?: number;
}

export function signWebhook(input: SignWebhookInput): SignedWebhookHeaders {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'hes-webhook-id': input.deliveryId,
    'hes-webhook-event': input.event,
    'hes-webhook-timestamp': String(timestamp),
    'hes-webhook-signature': `${SIGNATURE_VERSION}=${hmacHex(input.secret, timestamp, input.rawBody)}`,
  };
}

export type WebhookVerifyFailure = 'MALFORMED' | 'TIMESTAMP_OUT_OF_TOLERANCE' | 'SIGNATURE_MISMATCH';

export type WebhookVerifyResult = { ok: true } | { ok: false; reason: WebhookVerifyFailure };

export interface VerifyWebhookInput {
  secret: string;
  /** The body bytes exactly as received (not re-serialised JSON). */
  rawBody: string | Uint8Array;
  /** `Hes-Webhook-Timestamp` header. */
  timestamp: string | undefined;
  /** `Hes-Webhook-Signature` header; several `v1=` values separated by commas or spaces are accepted. */
  signature: string | undefined;
  toleranceSeconds?: number;
  /** Unix seconds; default now (tests pass a clock). */
  now?: number;
}

export function verifyWebhookSignature(input: VerifyWebhookInput): WebhookVerifyResult {
  const tolerance = input.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp) || !input.signature) {
    return { ok: false, reason: 'MALFORMED' };
  }
  const timestamp = Number(input.timestamp);
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: 'TIMESTAMP_OUT_OF_TOLERANCE' };
  const expected = Buffer.from(hmacHex(input.secret, input.timestamp, input.rawBody), 'hex');
  const candidates = input.signature
    .split(/[\s,]+/)
    .filter((part) => part.startsWith(`${SIGNATURE_VERSION}=`))
    .map((part) => part.slice(SIGNATURE_VERSION.length + 1));
  for (const hex of candidates) {
    if (!/^[0-9a-f]{64}$/i.test(hex)) continue;
    if (timingSafeEqual(Buffer.from(hex, 'hex'), expected)) return { ok: true };
  }
  return { ok: false, reason: candidates.length === 0 ? 'MALFORMED' : 'SIGNATURE_MISMATCH' };
}

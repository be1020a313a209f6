import { Agent, type Dispatcher, request } from 'undici';

export interface SendResult {
  /** HTTP status, or null when no response arrived (timeout, refused, reset, TLS). */
  statusCode: number | null;
  /** Short, body-free description of a failure; null on 2xx. */
  error: string | null;
  durationMs: number;
  /** Retry-After of a 429/503, in ms. */
  retryAfterMs: number | null;
}

export interface WebhookSenderOptions {
  /** The whole attempt (connect, headers, body) must finish within this. */
  timeoutMs: number;
  /** Tests may pass their own dispatcher; by default one Agent per sender, closed with it. */
  dispatcher?: Dispatcher;
  now?: () => number;
}

const USER_AGENT = 'hes-gateway-webhooks/1';
const MAX_ERROR_LENGTH = 300;

function parseRetryAfter(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const text = `${typeof code === 'string' ? code : err.name}: ${err.message}`;
    return text.slice(0, MAX_ERROR_LENGTH);
  }
  return String(err).slice(0, MAX_ERROR_LENGTH);
}

/**
 * POSTs one signed body. Redirects are not followed (a 3xx is a failed attempt: the signature is for
 * the configured URL only), and the receiver's response body is discarded unread beyond a small limit:
 * it is never stored or logged.
 */
export class WebhookSender {
  readonly #timeoutMs: number;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #now: () => number;

  constructor(options: WebhookSenderOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#ownsDispatcher = !options.dispatcher;
    this.#dispatcher =
      options.dispatcher ??
      new Agent({
        connect: { timeout: options.timeoutMs },
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        keepAliveTimeout: 10_000,
        connections: 64,
      });
    this.#now = options.now ?? performance.now.bind(performance);
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    const started = this.#now();
    const elapsed = () => Math.round(this.#now() - started);
    try {
      const res = await request(url, {
        method: 'POST',
        body,
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': USER_AGENT },
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(this.#timeoutMs),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      // Drain a little so the connection can be reused, then drop the rest.
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return {
        statusCode: res.statusCode,
        error: ok ? null : `HTTP ${res.statusCode}`,
        durationMs: elapsed(),
        retryAfterMs:
          res.statusCode === 429 || res.statusCode === 503
            ? parseRetryAfter(res.headers['retry-after'])
            : null,
      };
    } catch (err) {
      return { statusCode: null, error: describe(err), durationMs: elapsed(), retryAfterMs: null };
    }
  }

  /** Graceful: requests in flight finish (bounded by the timeout). `force` aborts them. */
  async close(force = false): Promise<void> {
    if (!this.#ownsDispatcher) return;
    await (force ? this.#dispatcher.destroy() : this.#dispatcher.close()).catch(() => undefined);
  }
}

import type { Dispatcher } from 'undici';
import type { HesEndpoint } from './constants.js';
import {
  HesAbortedError,
  HesConnectionError,
  type HesError,
  HesProtocolError,
  type HesResponseHeaders,
  HesTimeoutError,
  isHesError,
} from './errors.js';
import type { ResolvedOptions } from './options.js';

export interface HesHttpResponse {
  status: number;
  headers: HesResponseHeaders;
  text: string;
}

/** Far above a full bulk-plus answer (500 entries ≈ 200 KB); anything larger is not the Ministry. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

class BodyTooLargeError extends Error {}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * One POST to the Ministry. Resolves with the status, headers and the whole body as text for every
 * HTTP status (deciding what a status means is responses.ts's job); rejects with HesAbortedError,
 * HesTimeoutError or HesConnectionError. The body is always read to the end or destroyed, so a
 * connection is never left half-used in the pool.
 */
export async function postJson(
  options: ResolvedOptions,
  endpoint: HesEndpoint,
  payload: unknown,
  signal: AbortSignal | undefined,
): Promise<HesHttpResponse> {
  if (signal?.aborted) throw aborted(endpoint, signal);
  let response: Dispatcher.ResponseData;
  try {
    response = await options.dispatcher.request({
      origin: options.origin,
      path: options.pathPrefix + endpoint,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: options.authorization,
        'user-agent': options.userAgent,
      },
      body: JSON.stringify(payload),
      signal,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
    });
  } catch (error) {
    throw toTransportError(error, endpoint, signal);
  }
  const { statusCode: status, headers } = response;
  try {
    return { status, headers, text: await readText(response.body) };
  } catch (error) {
    if (error instanceof BodyTooLargeError && !signal?.aborted) {
      throw new HesProtocolError(`${endpoint}: response body larger than ${MAX_BODY_BYTES} bytes`, {
        endpoint,
        status,
        headers,
      });
    }
    throw toTransportError(error, endpoint, signal);
  }
}

async function readText(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early (throw) destroys the stream and releases the socket.
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function aborted(endpoint: HesEndpoint, signal: AbortSignal): HesAbortedError {
  return new HesAbortedError(`${endpoint}: aborted by the caller`, { endpoint, cause: signal.reason });
}

function toTransportError(error: unknown, endpoint: HesEndpoint, signal: AbortSignal | undefined): HesError {
  // Whatever undici threw once the caller aborted (signal.reason, RequestAbortedError, a destroyed
  // body), the cause is the caller's decision.
  if (signal?.aborted) return aborted(endpoint, signal);
  if (isHesError(error)) return error;
  const code =
    typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : null;
  if (code !== null && TIMEOUT_CODES.has(code)) {
    return new HesTimeoutError(`${endpoint}: timed out (${code})`, { endpoint, cause: error });
  }
  return new HesConnectionError(`${endpoint}: network error (${code ?? describeError(error)})`, {
    endpoint,
    cause: error,
  });
}

const describeError = (error: unknown): string => (error instanceof Error ? error.name : typeof error);

import type { Readable } from 'node:stream';
import { ApiProblemError, ApiUnreachableError } from './errors.js';
import type { ApiTarget } from './options.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A JSON value, or a byte stream sent as is (with `contentType`). */
  json?: unknown;
  stream?: Readable;
  contentType?: string;
  contentLength?: number;
  accept?: string;
  signal?: AbortSignal;
}

/**
 * The HES Gateway HTTP API as the CLI uses it: Node's fetch (undici), Bearer key, problem+json
 * answers turned into ApiProblemError. It never retries: callers that poll decide what to wait out.
 */
export class ApiClient {
  constructor(
    private readonly target: ApiTarget,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  get baseUrl(): string {
    return this.target.baseUrl;
  }

  url(path: string, query: Query = {}): string {
    const url = new URL(`${this.target.baseUrl}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.href;
  }

  /** The response of a 2xx answer, body unread (so an export can be streamed). */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.target.key}`,
      accept: options.accept ?? 'application/json',
    };
    let body: RequestInit['body'];
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.stream) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      if (options.contentLength !== undefined) headers['content-length'] = String(options.contentLength);
      // A Node stream is an async iterable of chunks: undici streams it without reading the file first.
      body = options.stream as unknown as RequestInit['body'];
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, options.query), {
        method,
        headers,
        body,
        signal: options.signal,
        ...(options.stream ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiUnreachableError(this.target.baseUrl, err);
    }
    if (res.ok) return res;
    throw await problemOf(res);
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.json<T>('GET', path, { ...(query ? { query } : {}), ...(signal ? { signal } : {}) });
  }
}

async function problemOf(res: Response): Promise<ApiProblemError> {
  const text = await res.text().catch(() => '');
  let problem: { code?: unknown; detail?: unknown; title?: unknown; requestId?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    // A proxy's HTML error page: keep only its status.
  }
  const code = typeof problem.code === 'string' ? problem.code : `HTTP_${res.status}`;
  const detail =
    typeof problem.detail === 'string'
      ? problem.detail
      : typeof problem.title === 'string'
        ? problem.title
        : res.statusText || 'request failed';
  const error = new ApiProblemError(
    res.status,
    code,
    detail,
    typeof problem.requestId === 'string' ? problem.requestId : undefined,
  );
  const retryAfter = Number(res.headers.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0) error.retryAfterMs = retryAfter * 1000;
  return error;
}

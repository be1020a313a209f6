import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { buildSandboxApp, type SandboxApp, type SandboxAppOptions } from '../src/app.js';
import { LIVE_PREFIX, TEST_PREFIX } from '../src/routes/ministry.js';
import type { SandboxStatsSnapshot } from '../src/stats.js';

export const USERNAME = 'test-user';
export const PASSWORD = 'test-pässword:with-colon';
export const PREFIXES = [LIVE_PREFIX, TEST_PREFIX] as const;

export const basic = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
}

export interface CallOptions {
  prefix?: string;
  auth?: string | null;
  headers?: Record<string, string>;
  /** A raw body sent as is (otherwise `body` is JSON-encoded). */
  raw?: string;
  method?: 'POST' | 'GET' | 'PUT' | 'DELETE';
  headersTimeout?: number;
}

export interface RunningSandbox {
  app: SandboxApp;
  origin: string;
  call: (endpoint: string, body?: unknown, options?: CallOptions) => Promise<Answer>;
  admin: (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) => Promise<Answer>;
  stats: (
    windowMs?: number,
  ) => Promise<SandboxStatsSnapshot & { maxInWindow?: { windowMs: number; all: number; accepted: number } }>;
  close: () => Promise<void>;
}

async function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  headersTimeout?: number,
): Promise<Answer> {
  const res = await request(url, {
    method: method as 'POST',
    headers,
    ...(body === undefined ? {} : { body }),
    ...(headersTimeout === undefined ? {} : { headersTimeout }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** The sandbox on an ephemeral port, called over real HTTP. */
export async function startSandbox(options: Partial<SandboxAppOptions> = {}): Promise<RunningSandbox> {
  const app = buildSandboxApp({ username: USERNAME, password: PASSWORD, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const call: RunningSandbox['call'] = (endpoint, body, o = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
    const auth = o.auth === undefined ? basic(USERNAME, PASSWORD) : o.auth;
    if (auth !== null) headers.authorization = auth;
    const payload = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    return send(
      `${origin}${o.prefix ?? TEST_PREFIX}${endpoint}`,
      o.method ?? 'POST',
      headers,
      payload,
      o.headersTimeout,
    );
  };
  const admin: RunningSandbox['admin'] = (method, path, body) =>
    send(
      `${origin}/__sandbox/${path}`,
      method,
      body === undefined ? {} : { 'content-type': 'application/json' },
      body === undefined ? undefined : JSON.stringify(body),
    );
  const stats: RunningSandbox['stats'] = async (windowMs) => {
    const answer = await admin('GET', windowMs === undefined ? 'stats' : `stats?windowMs=${windowMs}`);
    if (answer.status !== 200) throw new Error(`stats answered ${answer.status}`);
    return answer.json() as SandboxStatsSnapshot;
  };
  return { app, origin, call, admin, stats, close: () => app.close() };
}

/** A clock the test moves by hand (rate limit and peak statistics). */
export function manualClock(start = 1_000_000): {
  now: () => number;
  advance: (ms: number) => void;
  set: (t: number) => void;
} {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (value) => {
      t = value;
    },
  };
}

/** Polls `condition` until it holds or `timeoutMs` passes (no fixed sleeps). */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

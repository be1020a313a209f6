import { Agent, type Dispatcher } from 'undici';
import { DEFAULTS } from './constants.js';
import { HesInvalidArgumentError } from './errors.js';
import type { HesClientOptions } from './types.js';

export interface ResolvedOptions {
  origin: string;
  /** The base URL's path, always ending in `/`: test and live differ only here. */
  pathPrefix: string;
  authorization: string;
  userAgent: string;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  dispatcher: Dispatcher;
  /** Whether close() closes the dispatcher: only when the client created it. */
  ownsDispatcher: boolean;
}

const invalid = (message: string): HesInvalidArgumentError => new HesInvalidArgumentError(message);

function positive(name: string, value: number | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw invalid(`${name} must be a positive ${integer ? 'integer' : 'number'}`);
  }
  return value;
}

function parseBaseUrl(baseUrl: unknown): { origin: string; pathPrefix: string } {
  if (typeof baseUrl !== 'string') throw invalid('baseUrl must be a string');
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw invalid('baseUrl is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('baseUrl must be http(s)');
  // Credentials belong in username/password, where they never end up in a logged URL.
  if (url.username !== '' || url.password !== '') throw invalid('baseUrl must not contain credentials');
  if (url.search !== '' || url.hash !== '') throw invalid('baseUrl must not have a query or fragment');
  const pathPrefix = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return { origin: url.origin, pathPrefix };
}

export function resolveOptions(options: HesClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options are required');
  const { origin, pathPrefix } = parseBaseUrl(options.baseUrl);
  const { username, password } = options;
  // RFC 7617: the user-id of Basic auth cannot contain a colon.
  if (typeof username !== 'string' || username === '' || username.includes(':')) {
    throw invalid('username must be a non-empty string without ":"');
  }
  if (typeof password !== 'string') throw invalid('password must be a string');
  const userAgent = options.userAgent ?? DEFAULTS.userAgent;
  if (typeof userAgent !== 'string' || userAgent === '' || /[\r\n]/.test(userAgent)) {
    throw invalid('userAgent must be a non-empty single-line string');
  }
  const connections = positive('connections', options.connections, DEFAULTS.connections, true);
  const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, DEFAULTS.connectTimeoutMs);
  const headersTimeoutMs = positive('headersTimeoutMs', options.headersTimeoutMs, DEFAULTS.headersTimeoutMs);
  const bodyTimeoutMs = positive('bodyTimeoutMs', options.bodyTimeoutMs, DEFAULTS.bodyTimeoutMs);

  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connections,
      connect: { timeout: connectTimeoutMs },
      headersTimeout: headersTimeoutMs,
      bodyTimeout: bodyTimeoutMs,
    });

  return {
    origin,
    pathPrefix,
    authorization: `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`,
    userAgent,
    headersTimeoutMs,
    bodyTimeoutMs,
    dispatcher,
    ownsDispatcher,
  };
}

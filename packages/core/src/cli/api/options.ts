import { type CliIo, UsageError } from '../io.js';
import type { OptionSpec } from '../parse.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** Flags every command that talks to the API accepts. */
export const API_OPTIONS: OptionSpec = {
  'api-url': { type: 'string' },
  'api-key': { type: 'string' },
};

export const API_ENV_HELP = `Environment:
  HES_API_URL   the API's base URL (default ${DEFAULT_API_URL}; or --api-url)
  HES_API_KEY   an API key (or --api-key, which other users of this machine can see in ps)`;

export interface ApiTarget {
  baseUrl: string;
  key: string;
}

/** Flags first, then the environment; empty counts as unset. The key is never echoed back. */
export function apiTarget(
  values: Record<string, string | boolean | undefined>,
  io: CliIo,
  usage: string,
): ApiTarget {
  const flagUrl = values['api-url'];
  const flagKey = values['api-key'];
  const raw = (typeof flagUrl === 'string' && flagUrl) || io.env.HES_API_URL || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`HES_API_URL/--api-url is not a URL: "${raw}"`, usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`HES_API_URL/--api-url must be http(s): "${raw}"`, usage);
  const key = (typeof flagKey === 'string' && flagKey) || io.env.HES_API_KEY || '';
  if (key === '')
    throw new UsageError(
      'No API key: set HES_API_KEY (create one with "hes keys create --name hr --scopes checks:write,checks:read")',
      usage,
    );
  return { baseUrl: url.href.replace(/\/+$/, ''), key };
}

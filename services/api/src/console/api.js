// The gateway's HTTP API as the console uses it: Bearer key from sessionStorage, problem+json errors.

const KEY_STORAGE = 'hes-console-api-key';

export const keyStore = {
  get: () => sessionStorage.getItem(KEY_STORAGE),
  set: (key) => sessionStorage.setItem(KEY_STORAGE, key),
  clear: () => sessionStorage.removeItem(KEY_STORAGE),
};

/** An answer other than 2xx, carrying the problem's stable code. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** One sentence for a person: what went wrong and what to do about it. */
export function describeError(err) {
  if (!(err instanceof ApiError)) return `The gateway could not be reached: ${err.message}`;
  switch (err.status) {
    case 401:
      return `This API key was not accepted (${err.code}): ${err.message}. Enter a valid key.`;
    case 403:
      return `This key lacks the scope checks:write/checks:read needed here (${err.code}): ${err.message}.`;
    case 429:
      return `Too many requests (${err.code}); try again in a moment.`;
    default:
      return `${err.code}: ${err.message}`;
  }
}

async function problemOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON (a proxy's error page): the status alone
  }
  const code = body && typeof body.code === 'string' ? body.code : `HTTP_${res.status}`;
  const detail = (body && (body.detail || body.title)) || res.statusText || 'Request failed';
  return new ApiError(res.status, code, detail);
}

/** fetch against this origin with the key; resolves to the Response of a 2xx answer. */
export async function call(path, { method = 'GET', body, contentType, accept = 'application/json' } = {}) {
  const headers = { authorization: `Bearer ${keyStore.get() ?? ''}`, accept };
  if (contentType) headers['content-type'] = contentType;
  const res = await fetch(path, { method, headers, body, cache: 'no-store' });
  if (!res.ok) throw await problemOf(res);
  return res;
}

export const getJson = async (path) => (await call(path)).json();

export function query(params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) qs.set(k, String(v));
  const text = qs.toString();
  return text ? `?${text}` : '';
}

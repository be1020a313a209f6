import { ApiProblem } from './problem.js';

const MAX_URL_LENGTH = 2048;

const invalid = (detail: string) =>
  new ApiProblem('WEBHOOK_URL_INVALID', {
    detail,
    errors: [{ path: '/url', in: 'body', message: detail }],
  });

/**
 * A receiver URL must be absolute http(s) without credentials (they would be stored and shown in
 * listings; receivers authenticate us by the signature). Plain http only when WEBHOOK_ALLOW_HTTP: event
 * bodies carry masked personal data and must not cross networks in clear. Returns the normalised URL.
 */
export function validateWebhookUrl(raw: string, allowHttp: boolean): string {
  if (raw.length > MAX_URL_LENGTH) throw invalid(`url must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('url must use https');
  if (url.protocol === 'http:' && !allowHttp)
    throw invalid('url must use https (plain http is allowed only with WEBHOOK_ALLOW_HTTP=true)');
  if (url.username !== '' || url.password !== '') throw invalid('url must not contain credentials');
  if (url.hostname === '') throw invalid('url must name a host');
  if (url.hash !== '') throw invalid('url must not contain a fragment');
  return url.href;
}

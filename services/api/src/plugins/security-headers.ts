import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

/** The API serves JSON and CSV only: nothing may load, frame or submit anything. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Swagger UI under /docs: its own scripts, styles and images from this origin (it has no inline
 * scripts; its React components set inline styles), and fetches of /docs/json from here only.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

/**
 * The HR console (/console): its own module scripts, stylesheet and icon, fetches to this origin's /v1
 * only. No 'unsafe-inline' anywhere: the page has no inline script or style attribute.
 */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const under = (prefix: string, url: string) =>
  url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`);
const isDocs = (url: string) => under('/docs', url);
const isConsole = (url: string) => under('/console', url);

/** Sets the headers; exported for answers Fastify sends before any hook exists (frameworkErrors). */
export function applySecurityHeaders(url: string, reply: FastifyReply) {
  const docs = isDocs(url);
  reply.headers({
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'content-security-policy': docs ? DOCS_CSP : isConsole(url) ? CONSOLE_CSP : API_CSP,
  });
  // Check results are personal data: no shared or browser cache may keep them. Swagger UI's static
  // assets are the only thing worth caching.
  if (!docs) reply.header('cache-control', 'no-store');
}

/** Headers on every response: onSend runs for answers from routes, hooks, the error and 404 handlers alike. */
export default fp(
  async function securityHeaders(app: FastifyInstance) {
    app.addHook('onSend', async (request, reply, payload) => {
      applySecurityHeaders(request.url, reply);
      return payload;
    });
  },
  { name: 'security-headers' },
);

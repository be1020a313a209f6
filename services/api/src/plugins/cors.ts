import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface CorsOptions {
  /** Exact origins allowed; empty allows none, so browsers on other sites cannot read any answer. */
  origins: readonly string[];
}

const ALLOW_METHODS = 'GET, POST';
const ALLOW_HEADERS = 'Authorization, Content-Type, Idempotency-Key, X-Request-Id';
const EXPOSE_HEADERS = 'Location, Retry-After, X-Request-Id, Idempotent-Replayed';

/**
 * CORS closed by default: no Access-Control-* header is ever sent for an origin not on the list, and
 * a preflight from one falls through to 404. Listed origins get the headers and a 204 preflight.
 * Credentials are never allowed: API keys travel in Authorization, set by the calling script.
 */
export default fp<CorsOptions>(
  async function cors(app: FastifyInstance, opts) {
    const allowed = new Set(opts.origins);
    if (allowed.size === 0) return;

    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (typeof origin !== 'string' || !allowed.has(origin)) return;
      reply.header('vary', 'Origin');
      reply.header('access-control-allow-origin', origin);
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        return reply
          .code(204)
          .headers({
            'access-control-allow-methods': ALLOW_METHODS,
            'access-control-allow-headers': ALLOW_HEADERS,
            'access-control-max-age': '600',
          })
          .send();
      }
      reply.header('access-control-expose-headers', EXPOSE_HEADERS);
    });
  },
  { name: 'cors' },
);

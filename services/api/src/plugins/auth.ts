import { coalescer, findActiveKeysByHashPg, hashApiKey, type Scope, touchLastUsedPg } from '@hes/core';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { ApiProblem } from '../domain/problem.js';

export interface Principal {
  keyId: string;
  name: string;
  scopes: readonly string[];
}

/**
 * Called after a key is authenticated and authorised, before the body is read: the place for the
 * per-key rate limit (429 RATE_LIMITED) that a later issue adds. Throw an ApiProblem to refuse.
 */
export type AdmissionHook = (principal: Principal, request: FastifyRequest) => Promise<void> | void;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** onRequest hook: 401 without a valid key, 403 without `scope` (`admin` implies every scope). */
    requireScope(scope: Scope): onRequestAsyncHookHandler;
  }
}

export interface AuthOptions {
  admission?: AdmissionHook | undefined;
  /** Minimum interval between two writes of a key's last_used_at. */
  touchIntervalMs?: number;
  now?: () => number;
}

const REALM = 'Bearer realm="hes-gateway"';
const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]{8,512})[ \t]*$/i;

export default fp<AuthOptions>(
  async function auth(app: FastifyInstance, opts) {
    const touchIntervalMs = opts.touchIntervalMs ?? 60_000;
    const now = opts.now ?? Date.now;
    const lastTouched = new Map<string, number>();
    // Requests that arrive together share one lookup statement. Still uncached: a request whose
    // lookup starts after a revocation committed is refused.
    const keys = coalescer((hashes: readonly string[]) => findActiveKeysByHashPg(app.pgPool, hashes));

    // last_used_at is informational: at most one write per key and minute per process, never awaited.
    function touch(request: FastifyRequest, keyId: string) {
      const t = now();
      if (t - (lastTouched.get(keyId) ?? Number.NEGATIVE_INFINITY) < touchIntervalMs) return;
      lastTouched.set(keyId, t);
      touchLastUsedPg(app.pgPool, keyId, new Date(t)).catch((err: unknown) =>
        request.log.warn({ err, keyId }, 'could not record api key use'),
      );
    }

    async function authenticate(request: FastifyRequest): Promise<Principal> {
      const header = request.headers.authorization;
      const token = header ? BEARER.exec(header)?.[1] : undefined;
      if (!token) {
        throw new ApiProblem('UNAUTHORIZED', {
          detail: header
            ? 'Authorization must be "Bearer <api key>"'
            : 'Send "Authorization: Bearer <api key>"',
          headers: { 'www-authenticate': header ? `${REALM}, error="invalid_request"` : REALM },
        });
      }
      const key = await keys.load(hashApiKey(token));
      if (!key) {
        throw new ApiProblem('UNAUTHORIZED', {
          detail: 'The API key is unknown or revoked',
          headers: { 'www-authenticate': `${REALM}, error="invalid_token"` },
        });
      }
      touch(request, key.id);
      return { keyId: key.id, name: key.name, scopes: key.scopes };
    }

    app.decorateRequest('principal', null);
    app.decorate('requireScope', (scope: Scope): onRequestAsyncHookHandler => {
      return async (request) => {
        const principal = await authenticate(request);
        if (!principal.scopes.includes(scope) && !principal.scopes.includes('admin')) {
          throw new ApiProblem('FORBIDDEN_SCOPE', {
            detail: `This operation needs the "${scope}" scope`,
            headers: { 'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"` },
          });
        }
        request.principal = principal;
        await opts.admission?.(principal, request);
      };
    });
  },
  { name: 'auth', dependencies: ['db'] },
);

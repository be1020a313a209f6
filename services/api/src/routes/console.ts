import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { notFound } from './v1/checks.js';

/**
 * The HR web console: static HTML, CSS and module scripts from ../console (copied next to the compiled
 * routes by the build), read once at start. Its data comes from /v1 with the key the user types in, so
 * these routes need no auth; the page's CSP (security-headers) admits same-origin scripts, styles and
 * fetches only.
 */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

const dir = fileURLToPath(new URL('../console/', import.meta.url));

export default async function consoleRoutes(app: FastifyInstance) {
  const files = new Map(
    Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(`${dir}${name}`) }]),
  );
  const index = files.get('index.html')!;

  app.get('/console', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(index.type).send(index.body),
  );
  app.get('/console/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(index.type).send(index.body),
  );
  app.get<{ Params: { asset: string } }>(
    '/console/:asset',
    { schema: { hide: true } },
    async (request, reply) => {
      const file = files.get(request.params.asset);
      if (!file || request.params.asset === 'index.html') throw notFound('console file');
      return reply.type(file.type).send(file.body);
    },
  );
}

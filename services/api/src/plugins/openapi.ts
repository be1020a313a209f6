import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * OpenAPI 3 generated from the routes' TypeBox schemas: `GET /openapi.json` and Swagger UI at `/docs`.
 * Must be registered before the routes so it sees them.
 */
export default fp(
  async function openapi(app: FastifyInstance) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'HES Gateway API',
          version: '1.0.0',
          description:
            "An institution's gateway to the Ministry of Health's HES code service. Checks are stored before " +
            'they are acknowledged and processed asynchronously; full HES codes are never returned (SPEC §4, §6). ' +
            'Errors are application/problem+json (RFC 9457) with a stable `code`.',
        },
        components: {
          securitySchemes: {
            bearer: {
              type: 'http',
              scheme: 'bearer',
              description: 'API key created with `pnpm hes keys create`',
            },
          },
        },
        security: [{ bearer: [] }],
        tags: [
          { name: 'checks', description: 'single HES code checks' },
          { name: 'batches', description: 'rosters of up to 100 000 codes' },
          { name: 'rosters', description: 'stored rosters, their schedules and run history' },
          { name: 'operations', description: 'health, readiness, metrics' },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);

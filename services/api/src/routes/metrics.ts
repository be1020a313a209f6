import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

const metricsRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus exposition',
        security: [],
        produces: ['text/plain'],
        response: { 200: { description: 'Prometheus text format', type: 'string' } },
      },
    },
    async (_request, reply) => {
      const body = await app.metricsRegistry.metrics();
      return reply.type(app.metricsRegistry.contentType).send(body);
    },
  );
};

export default metricsRoute;

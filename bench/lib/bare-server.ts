/**
 * The comparison point for the intake scenario: a bare Fastify route with the API's own body, query and
 * header schemas, its validator compiler and response schema, and no I/O (no auth lookup, no database,
 * no queue, no logging). Runs as its own process like the API; prints `listening <port>`.
 */
import Fastify from 'fastify';
import { validatorCompiler } from '../../services/api/src/plugins/validation.js';
import {
  CheckSchema,
  CreateCheckBodySchema,
  CreateCheckQuerySchema,
  IdempotencyHeadersSchema,
} from '../../services/api/src/schemas/check.js';

const app = Fastify({ logger: false });
app.setValidatorCompiler(validatorCompiler);
const answer = {
  id: '00000000-0000-4000-8000-000000000000',
  kind: 'standard',
  hesCode: 'A1******E5',
  reference: null,
  batchId: null,
  status: 'queued',
  outcome: null,
  person: null,
  codeExpiresAt: null,
  identityMatch: null,
  plus: null,
  error: null,
  attempts: 0,
  createdAt: new Date().toISOString(),
  completedAt: null,
};
app.post(
  '/v1/checks',
  {
    schema: {
      body: CreateCheckBodySchema,
      querystring: CreateCheckQuerySchema,
      headers: IdempotencyHeadersSchema,
      response: { 202: CheckSchema },
    },
  },
  async (_request, reply) => reply.code(202).header('location', `/v1/checks/${answer.id}`).send(answer),
);
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
const address = app.server.address();
console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));

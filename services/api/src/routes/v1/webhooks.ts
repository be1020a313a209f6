import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { generateWebhookSecret, sealWebhookSecret, WEBHOOK_EVENTS } from '@hes/core';
import type { FastifyRequest } from 'fastify';
import { type Owner, WebhooksRepository } from '../../adapters/webhooks-repository.js';
import { ApiProblem } from '../../domain/problem.js';
import { decodeDeliveryCursor, encodeDeliveryCursor } from '../../domain/webhook-cursor.js';
import { validateWebhookUrl } from '../../domain/webhook-url.js';
import { presentDelivery, presentWebhook } from '../../domain/webhook-views.js';
import { problemResponses } from '../../schemas/common.js';
import {
  CreateWebhookBodySchema,
  DeliveryListSchema,
  DeliveryParamsSchema,
  DeliverySchema,
  ListDeliveriesQuerySchema,
  WebhookListSchema,
  WebhookParamsSchema,
  WebhookSchema,
  WebhookWithSecretSchema,
} from '../../schemas/webhook.js';
import { validId } from './checks.js';

const webhookNotFound = () => new ApiProblem('WEBHOOK_NOT_FOUND', { detail: 'No such webhook' });
const rosterNotFound = () =>
  new ApiProblem('ROSTER_NOT_FOUND', {
    detail: 'No such roster',
    errors: [{ path: '/rosterId', in: 'body', message: 'no such roster' }],
  });

/** An admin key manages every webhook; any other key only those it created. */
const ownerOf = (request: FastifyRequest): Owner =>
  request.principal!.scopes.includes('admin') ? null : request.principal!.keyId;

const webhooks: FastifyPluginAsyncTypebox = async (app) => {
  const repo = new WebhooksRepository(app.prisma);
  const allowHttp = app.apiConfig.webhookAllowHttp;

  async function owned(request: FastifyRequest, id: string) {
    const row = validId(id) ? await repo.find(id, ownerOf(request)) : null;
    if (!row) throw webhookNotFound();
    return row;
  }

  app.post(
    '/webhooks',
    {
      onRequest: app.requireScope('checks:write'),
      schema: {
        tags: ['webhooks'],
        summary: 'Register a webhook',
        description:
          'Events are POSTed as JSON, signed with HMAC-SHA256 (see the README, "Access-control guide: webhooks"). ' +
          'Without `rosterId` the webhook receives the events of checks and batches submitted with this key; with it, ' +
          'those of that roster. The signing `secret` is in this response only.',
        body: CreateWebhookBodySchema,
        response: {
          201: { description: 'created; the secret is shown this once', ...WebhookWithSecretSchema },
          ...problemResponses(400, 401, 403, 404, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const url = validateWebhookUrl(request.body.url, allowHttp);
      const rosterId = request.body.rosterId ?? null;
      if (rosterId !== null) {
        const roster = await repo.rosterOwner(rosterId);
        const owner = ownerOf(request);
        // Another key's roster is reported as unknown: its events are not this key's to receive.
        if (!roster || (owner !== null && roster.apiKeyId !== owner)) throw rosterNotFound();
      }
      const id = randomUUID();
      const secret = generateWebhookSecret();
      const row = await repo.create({
        id,
        url,
        events: [...(request.body.events ?? WEBHOOK_EVENTS)],
        apiKeyId: request.principal!.keyId,
        rosterId,
        secretCipher: sealWebhookSecret(app.vault, id, secret),
      });
      return reply
        .code(201)
        .header('location', `/v1/webhooks/${id}`)
        .header('cache-control', 'no-store')
        .send({ ...presentWebhook(row), secret });
    },
  );

  app.get(
    '/webhooks',
    {
      onRequest: app.requireScope('checks:read'),
      schema: {
        tags: ['webhooks'],
        summary: 'List webhooks (an admin key sees all)',
        response: { 200: WebhookListSchema, ...problemResponses(401, 403, 503) },
      },
    },
    async (request) => ({ items: (await repo.list(ownerOf(request))).map(presentWebhook) }),
  );

  app.get(
    '/webhooks/:id',
    {
      onRequest: app.requireScope('checks:read'),
      schema: {
        tags: ['webhooks'],
        summary: 'One webhook (without its secret)',
        params: WebhookParamsSchema,
        response: { 200: WebhookSchema, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request) => presentWebhook(await owned(request, request.params.id)),
  );

  app.delete(
    '/webhooks/:id',
    {
      onRequest: app.requireScope('checks:write'),
      schema: {
        tags: ['webhooks'],
        summary: 'Delete a webhook and its delivery log',
        params: WebhookParamsSchema,
        response: { 204: { description: 'deleted', type: 'null' }, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!validId(id) || !(await repo.delete(id, ownerOf(request)))) throw webhookNotFound();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      onRequest: app.requireScope('checks:write'),
      schema: {
        tags: ['webhooks'],
        summary: 'Replace the signing secret',
        description: 'The old secret stops signing at once; deliveries from now on use the new one.',
        params: WebhookParamsSchema,
        response: { 200: WebhookWithSecretSchema, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const secret = generateWebhookSecret();
      const row = validId(id)
        ? await repo.replaceSecret(id, ownerOf(request), sealWebhookSecret(app.vault, id, secret))
        : null;
      if (!row) throw webhookNotFound();
      return reply.header('cache-control', 'no-store').send({ ...presentWebhook(row), secret });
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      onRequest: app.requireScope('checks:read'),
      schema: {
        tags: ['webhooks'],
        summary: 'Deliveries of a webhook, newest first, each with its attempts',
        params: WebhookParamsSchema,
        querystring: ListDeliveriesQuerySchema,
        response: { 200: DeliveryListSchema, ...problemResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const hook = await owned(request, request.params.id);
      const limit = request.query.limit ?? 50;
      const rows = await repo.deliveries(
        hook.id,
        decodeDeliveryCursor(request.query.cursor),
        limit,
        request.query.status,
      );
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items: items.map(presentDelivery),
        nextCursor: rows.length > limit && last ? encodeDeliveryCursor(last) : null,
      };
    },
  );

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      onRequest: app.requireScope('checks:write'),
      schema: {
        tags: ['webhooks'],
        summary: 'Send a delivery again',
        description:
          'The same body and Hes-Webhook-Id as before (receivers deduplicate on it), a fresh signature.',
        params: DeliveryParamsSchema,
        response: { 202: DeliverySchema, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const hook = await owned(request, request.params.id);
      const { deliveryId } = request.params;
      if (!validId(deliveryId) || !(await repo.redeliver(hook.id, deliveryId)))
        throw new ApiProblem('NOT_FOUND', { detail: 'No such delivery' });
      const row = await repo.findDelivery(hook.id, deliveryId);
      if (!row) throw new ApiProblem('NOT_FOUND', { detail: 'No such delivery' });
      return reply.code(202).send(presentDelivery(row));
    },
  );

  app.post(
    '/webhooks/:id/ping',
    {
      onRequest: app.requireScope('checks:write'),
      schema: {
        tags: ['webhooks'],
        summary: 'Send a signed `ping` event to test the receiver',
        params: WebhookParamsSchema,
        response: { 202: DeliverySchema, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const hook = await owned(request, request.params.id);
      const id = await repo.ping(hook.id);
      const row = await repo.findDelivery(hook.id, id);
      if (!row) throw webhookNotFound(); // deleted in between
      return reply
        .code(202)
        .header('location', `/v1/webhooks/${hook.id}/deliveries`)
        .send(presentDelivery(row));
    },
  );
};

export default webhooks;

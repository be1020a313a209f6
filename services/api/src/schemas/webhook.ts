import { WEBHOOK_EVENTS } from '@hes/core';
import { Type } from 'typebox';
import { DateTimeSchema, Nullable, PageQuerySchema, UuidSchema } from './common.js';

export const WebhookEventSchema = Type.Enum([...WEBHOOK_EVENTS]);

export const CreateWebhookBodySchema = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'receiver URL: absolute https (http only where WEBHOOK_ALLOW_HTTP=true), no credentials',
      examples: ['https://turnstiles.example.org/hes-events'],
    }),
    events: Type.Optional(
      Type.Array(WebhookEventSchema, {
        minItems: 1,
        maxItems: WEBHOOK_EVENTS.length,
        uniqueItems: true,
        description: 'default: every event',
      }),
    ),
    rosterId: Type.Optional(
      Type.String({
        format: 'uuid',
        description:
          'receive the events of this roster only; without it, those of checks submitted with this key',
      }),
    ),
  },
  { additionalProperties: false },
);

export const WebhookSchema = Type.Object({
  id: UuidSchema,
  url: Type.String(),
  events: Type.Array(WebhookEventSchema),
  rosterId: Nullable(UuidSchema),
  apiKeyId: Nullable(UuidSchema),
  enabled: Type.Boolean({ description: 'false once the receiver answered 410 Gone' }),
  createdAt: DateTimeSchema,
  disabledAt: Nullable(DateTimeSchema),
});

export const WebhookWithSecretSchema = Type.Intersect([
  WebhookSchema,
  Type.Object({
    secret: Type.String({
      description: 'signing secret (whsec_…): shown in this response only, store it now',
    }),
  }),
]);

export const WebhookListSchema = Type.Object({ items: Type.Array(WebhookSchema) });

export const DeliveryAttemptSchema = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  at: DateTimeSchema,
  statusCode: Nullable(Type.Integer()),
  error: Nullable(
    Type.String({ description: 'timeout, connection error or HTTP status; never the response body' }),
  ),
  durationMs: Type.Integer(),
});

export const DeliverySchema = Type.Object({
  id: UuidSchema,
  webhookId: UuidSchema,
  event: Type.Enum([...WEBHOOK_EVENTS, 'ping']),
  subjectId: UuidSchema,
  status: Type.Enum(['pending', 'delivered', 'failed']),
  attemptCount: Type.Integer(),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  nextAttemptAt: Nullable(DateTimeSchema),
  createdAt: DateTimeSchema,
  deliveredAt: Nullable(DateTimeSchema),
  attempts: Type.Array(DeliveryAttemptSchema),
});

export const DeliveryListSchema = Type.Object({
  items: Type.Array(DeliverySchema),
  nextCursor: Nullable(Type.String()),
});

export const ListDeliveriesQuerySchema = Type.Object({
  ...PageQuerySchema,
  status: Type.Optional(Type.Enum(['pending', 'delivered', 'failed'])),
});

export const WebhookParamsSchema = Type.Object({ id: Type.String({ description: 'UUID' }) });
export const DeliveryParamsSchema = Type.Object({
  id: Type.String({ description: 'webhook UUID' }),
  deliveryId: Type.String({ description: 'delivery UUID' }),
});

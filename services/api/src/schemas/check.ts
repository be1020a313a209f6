import { Type } from 'typebox';
import {
  CheckKindSchema,
  CheckOutcomeSchema,
  CheckStatusSchema,
  DateTimeSchema,
  Nullable,
  PageQuerySchema,
  UuidSchema,
} from './common.js';

export const HesCodeInputSchema = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'HES code; dashes, spaces and scanner prefixes are accepted (the last 10 alphanumerics count)',
  examples: ['A1B2-C3D4-E5'],
});
export const ReferenceSchema = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'caller reference, e.g. an employee number',
});
export const IdentityLast3Schema = Type.String({
  pattern: '^[0-9]{3}$',
  description: "last three digits of the person's national ID, compared with the Ministry's masked number",
});

export const VisitSchema = Type.Object(
  {
    city: Type.String({ minLength: 1, maxLength: 100 }),
    district: Type.String({ minLength: 1, maxLength: 100 }),
    address: Type.String({ minLength: 1, maxLength: 500 }),
    latitude: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    longitude: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
  },
  { additionalProperties: false, description: 'visit location (kind `visitor` only)' },
);

export const CreateCheckBodySchema = Type.Object(
  {
    hesCode: HesCodeInputSchema,
    kind: Type.Optional(CheckKindSchema),
    reference: Type.Optional(ReferenceSchema),
    identityLast3: Type.Optional(IdentityLast3Schema),
    visit: Type.Optional(VisitSchema),
  },
  { additionalProperties: false },
);

export const CreateCheckQuerySchema = Type.Object({
  wait: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 10_000,
      description: 'milliseconds to wait for the final result (200) before answering 202',
    }),
  ),
});

export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'replays return the same check; another body with the same key is 422',
    }),
  ),
});

export const CheckSchema = Type.Object(
  {
    id: UuidSchema,
    kind: CheckKindSchema,
    hesCode: Type.String({ description: 'masked code, e.g. A1******E5' }),
    reference: Nullable(Type.String()),
    batchId: Nullable(UuidSchema),
    status: CheckStatusSchema,
    outcome: Nullable(CheckOutcomeSchema),
    person: Nullable(
      Type.Object({
        maskedIdentityNumber: Nullable(Type.String()),
        maskedFirstName: Nullable(Type.String()),
        maskedLastName: Nullable(Type.String()),
      }),
    ),
    codeExpiresAt: Nullable(DateTimeSchema),
    identityMatch: Nullable(Type.Boolean()),
    plus: Nullable(
      Type.Object({
        vaccinated: Nullable(Type.Boolean()),
        immune: Nullable(Type.Boolean()),
        testDataShared: Nullable(Type.Boolean()),
        lastNegativeTestAt: Nullable(DateTimeSchema),
      }),
    ),
    error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
    attempts: Type.Integer(),
    createdAt: DateTimeSchema,
    completedAt: Nullable(DateTimeSchema),
  },
  { title: 'Check' },
);

export const CheckListSchema = Type.Object({
  items: Type.Array(CheckSchema),
  nextCursor: Nullable(Type.String()),
});

export const CheckFilterQuery = {
  status: Type.Optional(CheckStatusSchema),
  outcome: Type.Optional(CheckOutcomeSchema),
};

export const ListChecksQuerySchema = Type.Object({
  reference: Type.Optional(ReferenceSchema),
  ...CheckFilterQuery,
  batchId: Type.Optional(UuidSchema),
  since: Type.Optional(
    Type.Union([Type.String({ format: 'date-time' }), Type.String({ format: 'date' })], {
      description: 'checks created at or after this instant (ISO 8601 date or date-time)',
    }),
  ),
  ...PageQuerySchema,
});

export const BatchChecksQuerySchema = Type.Object({
  ...CheckFilterQuery,
  identityMatch: Type.Optional(
    Type.Boolean({
      description: '`false`: the people whose code belongs to someone else (identityLast3 did not match)',
    }),
  ),
  ...PageQuerySchema,
});

import { CHECK_OUTCOMES, CHECK_STATUSES } from '@hes/core';
import { Type } from 'typebox';
import { IdentityLast3Schema, ReferenceSchema } from './check.js';
import { BatchStatusSchema, CheckKindSchema, DateTimeSchema, Nullable, UuidSchema } from './common.js';

export const BatchItemSchema = Type.Object(
  {
    hesCode: Type.String({
      maxLength: 200,
      description: 'HES code as printed or scanned; malformed ones become INVALID checks',
    }),
    reference: Type.Optional(ReferenceSchema),
    identityLast3: Type.Optional(IdentityLast3Schema),
  },
  { additionalProperties: false },
);

/** No maxItems here: too many items is BATCH_TOO_LARGE (413), not a validation error. */
export const CreateBatchJsonSchema = Type.Object(
  {
    kind: Type.Optional(CheckKindSchema),
    items: Type.Array(BatchItemSchema, {
      description: 'the roster; malformed codes become checks with outcome INVALID',
    }),
  },
  { additionalProperties: false },
);

export const CreateBatchCsvSchema = Type.String({
  description:
    'CSV with a header row `hesCode,reference[,identityLast3]` (`hes_code`, `identity_last3` accepted; ' +
    'case-insensitive; UTF-8 BOM and CRLF accepted). The kind comes from `?kind=`.',
  examples: ['hesCode,reference,identityLast3\r\nA1B2-C3D4-E5,emp-1042,792\r\n'],
});

export const CreateBatchQuerySchema = Type.Object({
  kind: Type.Optional(CheckKindSchema),
});

const countsOf = (keys: readonly string[]) =>
  Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer({ minimum: 0 })])));

export const BatchSchema = Type.Object(
  {
    id: UuidSchema,
    kind: CheckKindSchema,
    status: BatchStatusSchema,
    total: Type.Integer(),
    counts: countsOf(CHECK_STATUSES),
    outcomes: countsOf(CHECK_OUTCOMES),
    rosterId: Nullable(
      Type.String({ format: 'uuid', description: 'the stored roster it came from (null: POST /v1/batches)' }),
    ),
    trigger: Type.Enum(['api', 'schedule', 'manual'], {
      description:
        "`api`: POST /v1/batches; `schedule`: a roster's cron; `manual`: POST /v1/rosters/{id}/runs",
    }),
    createdAt: DateTimeSchema,
    completedAt: Nullable(DateTimeSchema),
  },
  { title: 'Batch' },
);

/** Columns of the CSV export of a batch's checks, in order. */
export const EXPORT_COLUMNS = [
  'id',
  'reference',
  'hesCode',
  'status',
  'outcome',
  'identityMatch',
  'maskedIdentityNumber',
  'maskedFirstName',
  'maskedLastName',
  'codeExpiresAt',
  'vaccinated',
  'immune',
  'testDataShared',
  'lastNegativeTestAt',
  'errorCode',
  'completedAt',
] as const;

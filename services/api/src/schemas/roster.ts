import { DEFAULT_TIME_ZONE } from '@hes/core';
import { Type } from 'typebox';
import { BatchItemSchema, BatchSchema } from './batch.js';
import { IdentityLast3Schema, ReferenceSchema } from './check.js';
import { CheckKindSchema, DateTimeSchema, Nullable, UuidSchema } from './common.js';

export const RosterNameSchema = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '\\S',
  description: 'unique name, e.g. "Night shift"',
});

export const ScheduleInputSchema = Type.Object(
  {
    cron: Type.String({
      minLength: 1,
      maxLength: 120,
      description:
        'cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), ' +
        'e.g. `30 7 * * 1-5` = weekdays at 07:30',
      examples: ['30 7 * * 1-5'],
    }),
    timeZone: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: `IANA time zone the cron is read in; default \`${DEFAULT_TIME_ZONE}\``,
        examples: [DEFAULT_TIME_ZONE],
      }),
    ),
  },
  { additionalProperties: false },
);

export const ScheduleSchema = Type.Object({
  cron: Type.String(),
  timeZone: Type.String(),
  nextRunAt: Nullable(DateTimeSchema),
});

export const RosterSchema = Type.Object(
  {
    id: UuidSchema,
    name: Type.String(),
    kind: CheckKindSchema,
    itemCount: Type.Integer({ minimum: 0 }),
    schedule: Nullable(ScheduleSchema),
    lastRunAt: Nullable(DateTimeSchema),
    createdAt: DateTimeSchema,
    updatedAt: DateTimeSchema,
  },
  { title: 'Roster' },
);

/** No maxItems here: too many items is BATCH_TOO_LARGE (413), exactly as for POST /v1/batches. */
export const RosterItemsJsonSchema = Type.Array(BatchItemSchema, {
  description: 'the people; malformed codes are kept (masked) and become INVALID checks on each run',
});

export const CreateRosterSchema = Type.Object(
  {
    name: RosterNameSchema,
    kind: Type.Optional(CheckKindSchema),
    schedule: Type.Optional(Nullable(ScheduleInputSchema)),
    items: Type.Optional(RosterItemsJsonSchema),
  },
  { additionalProperties: false },
);

export const UpdateRosterSchema = Type.Object(
  {
    name: Type.Optional(RosterNameSchema),
    kind: Type.Optional(CheckKindSchema),
    schedule: Type.Optional(
      Type.Union([ScheduleInputSchema, Type.Null()], { description: 'null removes the schedule' }),
    ),
  },
  { additionalProperties: false },
);

export const ReplaceItemsJsonSchema = Type.Object(
  { items: RosterItemsJsonSchema },
  { additionalProperties: false },
);

export const ReplaceItemsCsvSchema = Type.String({
  description:
    'CSV with a header row `hesCode,reference[,identityLast3]` (`hes_code`, `identity_last3` accepted; ' +
    'case-insensitive; UTF-8 BOM and CRLF accepted), as for POST /v1/batches.',
  examples: ['hesCode,reference,identityLast3\r\nA1B2-C3D4-E5,emp-1042,792\r\n'],
});

export const RosterItemViewSchema = Type.Object({
  position: Type.Integer({ minimum: 0, description: '0-based order in the uploaded roster' }),
  reference: Nullable(ReferenceSchema),
  identityLast3: Nullable(IdentityLast3Schema),
  hesCode: Type.String({ description: 'masked, e.g. `A1******E5`; the full code is never returned' }),
  valid: Type.Boolean({ description: 'false: not a HES code; each run records it as INVALID' }),
});

const page = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

export const RosterListSchema = page(RosterSchema);
export const RosterItemListSchema = page(RosterItemViewSchema);
export const RosterBatchListSchema = page(BatchSchema);

export const RosterPageQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: '`nextCursor` of the previous page' })),
});

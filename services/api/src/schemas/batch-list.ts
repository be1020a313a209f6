import { Type } from 'typebox';
import { BatchSchema } from './batch.js';
import { Nullable } from './common.js';

export const BatchListSchema = Type.Object({
  items: Type.Array(BatchSchema),
  nextCursor: Nullable(Type.String()),
});

export const ListBatchesQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 100, description: '`nextCursor` of the previous page' })),
});

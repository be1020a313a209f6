import { BATCH_STATUSES, CHECK_KINDS, CHECK_OUTCOMES, CHECK_STATUSES } from '@hes/core';
import { Type } from 'typebox';
import { PROBLEMS, type ProblemCode } from '../domain/problem.js';

export const CheckKindSchema = Type.Enum(CHECK_KINDS, {
  description: 'Ministry endpoint family; default `standard`',
});
export const CheckStatusSchema = Type.Enum(CHECK_STATUSES);
export const CheckOutcomeSchema = Type.Enum(CHECK_OUTCOMES);
export const BatchStatusSchema = Type.Enum(BATCH_STATUSES);

export const UuidSchema = Type.String({ format: 'uuid' });
export const DateTimeSchema = Type.String({ format: 'date-time' });
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const IdParamsSchema = Type.Object({ id: Type.String({ description: 'UUID' }) });

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URN naming the problem type' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.String({ description: 'the request path' }),
    code: Type.Enum(Object.keys(PROBLEMS) as ProblemCode[], { description: 'stable machine-readable code' }),
    requestId: Type.String(),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          path: Type.String({ description: 'JSON pointer into the request part' }),
          in: Type.Enum(['body', 'querystring', 'params', 'headers']),
          message: Type.String(),
        }),
      ),
    ),
    limit: Type.Optional(Type.Integer({ description: 'BATCH_TOO_LARGE: the configured item limit' })),
  },
  { title: 'Problem (RFC 9457)' },
);

/** Error responses of a route, documented as application/problem+json. */
export function problemResponses(...statuses: number[]) {
  const out: Record<number, unknown> = {};
  for (const status of statuses) {
    const codes = Object.entries(PROBLEMS)
      .filter(([, p]) => p.status === status)
      .map(([code]) => code);
    out[status] = {
      description: codes.join(', '),
      content: { 'application/problem+json': { schema: ProblemSchema } },
    };
  }
  return out;
}

export const PageQuerySchema = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 100, description: '`nextCursor` of the previous page' })),
};

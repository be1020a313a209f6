import { registerAjvFormats, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import type { FieldError } from '../domain/problem.js';

registerAjvFormats();

/**
 * TypeBox validation for every route: bodies are checked as sent (no type coercion, so `"identityLast3":
 * 123` is an error rather than silently "123"), while querystring, params and headers are converted from
 * their string form. A CSV body is a stream parsed by the route itself, so it is not validated here.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  if (route.httpPart === 'body' && route.contentType === 'text/csv') return () => true;
  return TypeBoxValidatorCompiler(route);
};

const MAX_REPORTED = 20;

type Part = FieldError['in'];

/** Turns validator output into the `errors` member of VALIDATION_FAILED: one entry per path, no values. */
export function fieldErrors(errors: FastifySchemaValidationError[], part: string | undefined): FieldError[] {
  const where: Part = part === 'querystring' || part === 'params' || part === 'headers' ? part : 'body';
  const seen = new Map<string, FieldError>();
  for (const e of errors) {
    // "schema is false" duplicates the additionalProperties error that names the property.
    if (e.keyword === 'boolean') continue;
    let path = e.instancePath || '/';
    let message = e.message ?? 'is invalid';
    const extra = (e.params as { additionalProperties?: unknown }).additionalProperties;
    if (e.keyword === 'additionalProperties' && Array.isArray(extra) && typeof extra[0] === 'string') {
      path = `${e.instancePath}/${extra[0]}`;
      message = 'is not an allowed property';
    }
    if (where === 'headers') path = path.toLowerCase();
    if (!seen.has(path)) seen.set(path, { path, in: where, message });
    if (seen.size >= MAX_REPORTED) break;
  }
  if (seen.size === 0) seen.set('/', { path: '/', in: where, message: 'is invalid' });
  return [...seen.values()];
}

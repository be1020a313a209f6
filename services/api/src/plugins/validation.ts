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
  const validate = TypeBoxValidatorCompiler(route);
  return (value) => {
    const result = validate(value) as { value?: unknown; error?: FastifySchemaValidationError[] };
    if (result.error) return result;
    const bad = unstorableString(result.value);
    return bad === null ? result : { error: [bad] };
  };
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what PostgreSQL text cannot hold
const NUL = /\u0000/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate has no UTF-8 form: either would reach
 * the database and fail there as a 500. Runs on values that already passed the schema, so the walk
 * is as shallow as the schema allows.
 */
function unstorableString(root: unknown): FastifySchemaValidationError | null {
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (NUL.test(value) || LONE_SURROGATE.test(value)) {
        return {
          keyword: 'format',
          instancePath: path,
          schemaPath: '',
          params: {},
          message: 'contains a NUL character or an unpaired surrogate',
        };
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) stack.push([v, `${path}/${k}`]);
    }
  }
  return null;
}

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

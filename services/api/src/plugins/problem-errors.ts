import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isDatabaseUnavailable } from '../adapters/db-errors.js';
import { ApiProblem, type ProblemCode, problemType } from '../domain/problem.js';
import { applySecurityHeaders } from './security-headers.js';
import { fieldErrors } from './validation.js';

/** Fastify's own errors, mapped to our codes. Their messages never contain request data. */
const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'NOT_FOUND',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

const BY_STATUS: Record<number, ProblemCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN_SCOPE',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

function toProblem(err: FastifyError | Error): ApiProblem {
  if (err instanceof ApiProblem) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    return new ApiProblem('VALIDATION_FAILED', {
      detail: 'The request does not match the schema; see errors',
      errors: fieldErrors(fe.validation, fe.validationContext),
    });
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return new ApiProblem('VALIDATION_FAILED', {
      detail: 'Request body is not valid JSON',
      errors: [{ path: '/', in: 'body', message: 'is not valid JSON' }],
    });
  }
  const mapped = typeof fe.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new ApiProblem(mapped, { detail: fe.message });
  if (isDatabaseUnavailable(err)) {
    return new ApiProblem('SERVICE_UNAVAILABLE', {
      detail: 'The database is unavailable; retry shortly',
      headers: { 'retry-after': '5' },
      cause: err,
    });
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  const byStatus = status >= 400 && status < 500 ? (BY_STATUS[status] ?? 'VALIDATION_FAILED') : undefined;
  // A 4xx raised by Fastify or a plugin: keep its message only when it is one of Fastify's (FST_…).
  if (byStatus) return new ApiProblem(byStatus, fe.code?.startsWith('FST_') ? { detail: fe.message } : {});
  return new ApiProblem('INTERNAL', { cause: err });
}

const PROBE_TIMEOUT_MS = 1_000;

/** SELECT 1 on a fresh or idle pooled connection, within a second. */
async function databaseAnswers(pool: { query(sql: string): Promise<unknown> }): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      pool.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LITERALS = new Set([
  '',
  'v1',
  'checks',
  'batches',
  'healthz',
  'readyz',
  'metrics',
  'openapi.json',
  'docs',
]);

/**
 * The request path for `instance`, with every segment that is neither one of our literals nor a UUID
 * replaced: a client that puts a HES code in a URL must not get it echoed back.
 */
function instanceOf(request: FastifyRequest): string {
  return redactedPath(request.url);
}

/** The path of `url` without its query, every segment not a literal or a UUID replaced by `…`. */
export function redactedPath(url: string): string {
  const path = url.split('?')[0] ?? '/';
  return path
    .split('/')
    .map((seg) => (LITERALS.has(seg) || UUID.test(seg) ? seg : '…'))
    .join('/');
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ApiProblem) {
  const body: Record<string, unknown> = {
    type: problemType(problem.code),
    title: problem.title,
    status: problem.statusCode,
    ...(problem.detail !== undefined && problem.code !== 'INTERNAL' ? { detail: problem.detail } : {}),
    instance: instanceOf(request),
    code: problem.code,
    requestId: request.id,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...problem.extensions,
  };
  return reply.code(problem.statusCode).headers(problem.headers).type('application/problem+json').send(body);
}

/**
 * Errors Fastify raises before routing (an undecodable URL, a path segment over maxParamLength): by
 * default plain JSON that echoes the path. Answered as our 404 without repeating the URL, which may
 * carry a HES code.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const detail =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path segment is too long' : 'The URL cannot be decoded';
  request.log.info({ code: 'NOT_FOUND', fastifyCode: err.code }, 'request rejected');
  // Sent before routing, so no onSend hook of ours runs for it.
  applySecurityHeaders(request.url, reply);
  return sendProblem(request, reply, new ApiProblem('NOT_FOUND', { detail }));
}

/**
 * The one error handler: every error leaves as application/problem+json with a stable `code`; 5xx
 * details are logged, never sent.
 */
export default fp(
  async function problemErrors(app: FastifyInstance) {
    app.setErrorHandler(async (err: FastifyError, request, reply) => {
      let problem = toProblem(err);
      // Some outages surface as errors no classifier can name: node-postgres reports a pooled
      // connection cut by a PostgreSQL shutdown as a plain Error without a code. If the database does
      // not answer right now, the honest answer is 503 with Retry-After, not a 500.
      if (problem.code === 'INTERNAL' && app.hasDecorator('pgPool') && !(await databaseAnswers(app.pgPool))) {
        problem = new ApiProblem('SERVICE_UNAVAILABLE', {
          detail: 'The database is unavailable; retry shortly',
          headers: { 'retry-after': '5' },
          cause: err,
        });
      }
      if (problem.statusCode >= 500) {
        request.log.error({ err: problem.cause ?? err, code: problem.code }, 'request failed');
      } else {
        request.log.info({ code: problem.code, status: problem.statusCode }, 'request rejected');
      }
      return sendProblem(request, reply, problem);
    });

    app.setNotFoundHandler((request, reply) =>
      sendProblem(request, reply, new ApiProblem('NOT_FOUND', { detail: 'No such route' })),
    );
  },
  { name: 'problem-errors' },
);

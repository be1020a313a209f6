import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type CheckRow, isFinal, presentCheck } from '@hes/core';
import type { FastifyReply } from 'fastify';
import { type CheckIntakeDeps, submitCheck } from '../../domain/check-intake.js';
import { awaitFinal, type FinalWatch, waitForFinal, watchFinal } from '../../domain/check-wait.js';
import { decodeCursor, encodeCursor } from '../../domain/cursor.js';
import { ApiProblem } from '../../domain/problem.js';
import {
  CheckListSchema,
  CheckSchema,
  CreateCheckBodySchema,
  CreateCheckQuerySchema,
  IdempotencyHeadersSchema,
  ListChecksQuerySchema,
} from '../../schemas/check.js';
import { IdParamsSchema, problemResponses } from '../../schemas/common.js';

const SINGLE_CHECK_BODY_LIMIT = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const notFound = (what: string) => new ApiProblem('NOT_FOUND', { detail: `No such ${what}` });

/** Ids that are not UUIDs are simply unknown (404), not a validation error. */
export const validId = (id: string) => UUID.test(id);

/**
 * Aborted when the client goes away before we answered or the server starts closing. Not
 * AbortSignal.any: on Node 20 every composed signal stays registered on the long-lived `closing`
 * signal (MaxListenersExceeded warnings, and work per request that grows with the requests served).
 */
function waitSignal(closing: AbortSignal, reply: FastifyReply): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const onClose = () => {
    if (!reply.raw.writableFinished) abort();
  };
  if (closing.aborted) abort();
  closing.addEventListener('abort', abort, { once: true });
  reply.raw.once('close', onClose);
  return {
    signal: controller.signal,
    dispose() {
      closing.removeEventListener('abort', abort);
      reply.raw.off('close', onClose);
    },
  };
}

export function pageOf(rows: CheckRow[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(presentCheck),
    nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null,
  };
}

const checks: FastifyPluginAsyncTypebox = async (app) => {
  const intake: CheckIntakeDeps = {
    checks: app.checksRepository,
    jobs: app.jobs,
    vault: app.vault,
    metrics: app.intakeMetrics,
    defaultVisit: app.apiConfig.gateway.defaultVisit,
  };

  app.post(
    '/checks',
    {
      // One check is a few hundred bytes; the 16 MiB roster limit has no business here.
      bodyLimit: Math.min(SINGLE_CHECK_BODY_LIMIT, app.apiConfig.bodyLimitBytes),
      onRequest: app.requireScope('checks:write'),
      schema: {
        tags: ['checks'],
        summary: 'Submit one HES code check',
        description:
          'Stores the check (the code encrypted) and queues it. `?wait=<ms>` (≤ 10000) answers 200 with the final ' +
          'check if it completes in time, else 202. With `Idempotency-Key`, a repeated request returns the same check. ' +
          'A malformed code is rejected (400 INVALID_HES_CODE) and not stored. `visit` is only accepted for kind ' +
          '`visitor`, where it is required unless a default visit location is configured (400 VISIT_REQUIRED).',
        body: CreateCheckBodySchema,
        querystring: CreateCheckQuerySchema,
        headers: IdempotencyHeadersSchema,
        response: {
          200: {
            description: 'final check (wait, or an idempotent replay of a finished check)',
            ...CheckSchema,
          },
          202: { description: 'accepted; poll Location', ...CheckSchema },
          ...problemResponses(400, 401, 403, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const waitMs = Math.min(request.query.wait ?? 0, app.apiConfig.waitMaxMs);
      const waiting = waitMs > 0 ? waitSignal(app.closing, reply) : undefined;
      const signal = waiting?.signal;
      let watch: FinalWatch | undefined;
      let row: CheckRow | null;
      let result: Awaited<ReturnType<typeof submitCheck>>;
      try {
        result = await submitCheck(intake, request.body, {
          apiKeyId: request.principal!.keyId,
          requestId: request.id,
          idempotencyKey: request.headers['idempotency-key'],
          log: request.log,
          onStored: signal
            ? (id) => {
                watch = watchFinal(app.checkEvents, id, waitMs, signal);
              }
            : undefined,
        });
        const read = () => app.checksRepository.findById(result.checkId);
        if (result.row && watch && signal) row = await awaitFinal(watch, result.row, read, signal);
        else if (result.row) row = result.row;
        else if (signal) row = await waitForFinal(app.checkEvents, read, result.checkId, waitMs, signal);
        else row = await read();
      } finally {
        watch?.stop();
        waiting?.dispose();
      }
      const { checkId, created } = result;
      if (!row) throw notFound('check');
      if (!created) reply.header('idempotent-replayed', 'true');
      return reply
        .code(isFinal(row.status) ? 200 : 202)
        .header('location', `/v1/checks/${checkId}`)
        .send(presentCheck(row));
    },
  );

  app.get(
    '/checks/:id',
    {
      onRequest: app.requireScope('checks:read'),
      schema: {
        tags: ['checks'],
        summary: 'One check',
        params: IdParamsSchema,
        response: { 200: CheckSchema, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request) => {
      const row = validId(request.params.id) ? await app.checksRepository.findById(request.params.id) : null;
      if (!row) throw notFound('check');
      return presentCheck(row);
    },
  );

  app.get(
    '/checks',
    {
      onRequest: app.requireScope('checks:read'),
      schema: {
        tags: ['checks'],
        summary: 'List checks in submission order',
        description:
          'Filters combine with AND. Follow `nextCursor` (null on the last page) for the next page.',
        querystring: ListChecksQuerySchema,
        response: { 200: CheckListSchema, ...problemResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const rows = await app.checksRepository.page(
        {
          reference: q.reference,
          status: q.status,
          outcome: q.outcome,
          batchId: q.batchId,
          since: q.since !== undefined ? new Date(q.since) : undefined,
        },
        decodeCursor(q.cursor),
        limit,
      );
      return pageOf(rows, limit);
    },
  );
};

export default checks;

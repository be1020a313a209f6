import { pipeline, type Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CheckKind } from '@hes/core';
import { presentBatch } from '@hes/core';
import { stringify } from 'csv-stringify';
import { decodeBatchCursor, encodeBatchCursor } from '../../domain/batch-cursor.js';
import { type BatchIntakeDeps, submitBatch } from '../../domain/batch-intake.js';
import { exportRows } from '../../domain/check-export.js';
import { decodeCursor } from '../../domain/cursor.js';
import { ApiProblem } from '../../domain/problem.js';
import { fromJsonItems, parseCsvRoster, type RosterItem } from '../../domain/roster-parsers.js';
import {
  BatchSchema,
  CreateBatchCsvSchema,
  CreateBatchJsonSchema,
  CreateBatchQuerySchema,
  EXPORT_COLUMNS,
} from '../../schemas/batch.js';
import { BatchListSchema, ListBatchesQuerySchema } from '../../schemas/batch-list.js';
import { BatchChecksQuerySchema, CheckListSchema } from '../../schemas/check.js';
import { IdParamsSchema, problemResponses } from '../../schemas/common.js';
import { notFound, pageOf, validId } from './checks.js';

type JsonRoster = {
  kind?: CheckKind;
  items: { hesCode: string; reference?: string; identityLast3?: string }[];
};

const mediaTypeOf = (header: string | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase();

/** `Accept: text/csv` (and not JSON preferred before it) selects the export. */
function wantsCsv(accept: string | undefined): boolean {
  const types = (accept ?? '').split(',').map((t) => mediaTypeOf(t));
  const csv = types.indexOf('text/csv');
  const json = types.indexOf('application/json');
  return csv >= 0 && (json < 0 || csv < json);
}

const batches: FastifyPluginAsyncTypebox = async (app) => {
  const config = app.apiConfig;
  const intake: BatchIntakeDeps = {
    pool: app.pgPool,
    jobs: app.jobs,
    vault: app.vault,
    metrics: app.intakeMetrics,
    defaultVisit: config.gateway.defaultVisit,
    maxItems: config.batchMaxItems,
  };

  // Encapsulated in this plugin: only POST /v1/batches accepts CSV. The route streams it through
  // csv-parse itself, so the parser hands over the raw request stream.
  app.addContentTypeParser('text/csv', (request, payload, done) => {
    const length = Number(request.headers['content-length']);
    if (Number.isFinite(length) && length > config.bodyLimitBytes) {
      payload.resume();
      done(
        new ApiProblem('PAYLOAD_TOO_LARGE', { detail: `The body exceeds ${config.bodyLimitBytes} bytes` }),
        undefined,
      );
      return;
    }
    done(null, payload);
  });

  app.post(
    '/batches',
    {
      onRequest: app.requireScope('checks:write'),
      schema: {
        tags: ['batches'],
        summary: 'Submit a roster',
        description:
          `JSON \`{kind?, items:[…]}\` or \`text/csv\` (kind via \`?kind=\`), up to ${config.batchMaxItems} items ` +
          '(more: 413 BATCH_TOO_LARGE, nothing stored). Malformed codes do not reject the roster: they become checks ' +
          'with outcome INVALID that are never sent upstream. Visitor rosters use the configured default visit ' +
          'location (400 VISIT_REQUIRED without one).',
        querystring: CreateBatchQuerySchema,
        body: {
          content: {
            'application/json': { schema: CreateBatchJsonSchema },
            'text/csv': { schema: CreateBatchCsvSchema },
          },
        },
        response: {
          202: { description: 'stored and queued; poll Location', ...BatchSchema },
          ...problemResponses(400, 401, 403, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      let kind: CheckKind;
      let items: RosterItem[];
      if (mediaTypeOf(request.headers['content-type']) === 'text/csv') {
        kind = request.query.kind ?? 'standard';
        items = await parseCsvRoster(request.body as Readable, {
          maxItems: config.batchMaxItems,
          maxBytes: config.bodyLimitBytes,
        });
      } else {
        const body = request.body as JsonRoster;
        kind = body.kind ?? request.query.kind ?? 'standard';
        items = fromJsonItems(body.items, { maxItems: config.batchMaxItems });
      }
      const batch = await submitBatch(intake, kind, items, {
        apiKeyId: request.principal!.keyId,
        requestId: request.id,
        log: request.log,
      });
      request.log.info(
        { batchId: batch.id, kind, total: batch.total, invalid: batch.outcomes.INVALID },
        'batch accepted',
      );
      return reply.code(202).header('location', `/v1/batches/${batch.id}`).send(batch);
    },
  );

  app.get(
    '/batches',
    {
      onRequest: app.requireScope('checks:read'),
      schema: {
        tags: ['batches'],
        summary: 'Recent rosters, newest first, with their progress',
        description: 'For dashboards (the web console, `hes watch`). Follow `nextCursor` for older batches.',
        querystring: ListBatchesQuerySchema,
        response: { 200: BatchListSchema, ...problemResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const rows = await app.batchesRepository.recent(limit, decodeBatchCursor(request.query.cursor));
      const page = rows.slice(0, limit);
      const counts = await app.batchesRepository.countsOf(page.map((b) => b.id));
      const last = page.at(-1);
      return {
        items: page.map((b) => presentBatch(b, counts.get(b.id) ?? [])),
        nextCursor: rows.length > limit && last ? encodeBatchCursor(last) : null,
      };
    },
  );

  app.get(
    '/batches/:id',
    {
      onRequest: app.requireScope('checks:read'),
      schema: {
        tags: ['batches'],
        summary: 'Progress of a roster: totals by status and by outcome',
        params: IdParamsSchema,
        response: { 200: BatchSchema, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request) => {
      const batch = validId(request.params.id)
        ? await app.batchesRepository.findById(request.params.id)
        : null;
      if (!batch) throw notFound('batch');
      return presentBatch(batch, await app.batchesRepository.counts(batch.id));
    },
  );

  app.get(
    '/batches/:id/checks',
    {
      onRequest: app.requireScope('checks:read'),
      schema: {
        tags: ['batches'],
        summary: "A roster's checks, paginated; `Accept: text/csv` exports them all",
        description: `CSV columns: ${EXPORT_COLUMNS.join(', ')}. Filters apply to both forms; the export ignores limit/cursor.`,
        params: IdParamsSchema,
        querystring: BatchChecksQuerySchema,
        response: {
          200: {
            description: 'a page, or the CSV export',
            content: {
              'application/json': { schema: CheckListSchema },
              'text/csv': { schema: { type: 'string' } },
            },
          },
          ...problemResponses(400, 401, 403, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const batch = validId(id) ? await app.batchesRepository.findById(id) : null;
      if (!batch) throw notFound('batch');
      const filter = {
        batchId: id,
        status: request.query.status,
        outcome: request.query.outcome,
        identityMatch: request.query.identityMatch,
      };

      if (wantsCsv(request.headers.accept)) {
        const csv = stringify({
          header: true,
          columns: [...EXPORT_COLUMNS],
          cast: { boolean: (v) => (v ? 'true' : 'false') },
        });
        const out = pipeline(exportRows(app.checksRepository, filter), csv, (err) => {
          if (err) request.log.error({ err, batchId: id }, 'CSV export failed mid-stream');
        });
        return (
          reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="batch-${id}.csv"`)
            // A stream is written as is; the JSON response schema only types the other branch.
            .send(out as never)
        );
      }

      const limit = request.query.limit ?? 50;
      const rows = await app.checksRepository.page(filter, decodeCursor(request.query.cursor), limit);
      return reply.type('application/json; charset=utf-8').send(pageOf(rows, limit));
    },
  );
};

export default batches;

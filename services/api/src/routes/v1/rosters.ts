import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  type CheckKind,
  CodeDecryptionError,
  presentBatch,
  QUEUES,
  type RostersQueue,
  runRoster,
} from '@hes/core';
import { Queue } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { RosterScheduler } from '../../adapters/roster-scheduler.js';
import { type RosterRow, RostersRepository } from '../../adapters/rosters-repository.js';
import { enqueueBatchJobs } from '../../domain/batch-intake.js';
import { ApiProblem } from '../../domain/problem.js';
import {
  decodePositionCursor,
  decodeTimeCursor,
  encodePositionCursor,
  encodeTimeCursor,
} from '../../domain/roster-cursor.js';
import { fromJsonItems, parseCsvRoster, type RosterItem } from '../../domain/roster-parsers.js';
import { type ScheduleInput, validateSchedule } from '../../domain/roster-schedule.js';
import { presentRoster, presentRosterItem } from '../../domain/roster-views.js';
import { resolveVisit } from '../../domain/visit.js';
import { BatchSchema } from '../../schemas/batch.js';
import { IdParamsSchema, problemResponses } from '../../schemas/common.js';
import {
  CreateRosterSchema,
  ReplaceItemsCsvSchema,
  ReplaceItemsJsonSchema,
  RosterBatchListSchema,
  RosterItemListSchema,
  RosterListSchema,
  RosterPageQuerySchema,
  RosterSchema,
  UpdateRosterSchema,
} from '../../schemas/roster.js';
import { validId } from './checks.js';
import { acceptCsvBodies, mediaTypeOf } from './csv-body.js';

const rosterNotFound = () => new ApiProblem('ROSTER_NOT_FOUND', { detail: 'No such roster' });

type JsonItems = { hesCode: string; reference?: string; identityLast3?: string }[];

const rosters: FastifyPluginAsyncTypebox = async (app) => {
  const config = app.apiConfig;
  const repo = new RostersRepository(app.prisma, app.pgPool, app.vault);
  const queue: RostersQueue = new Queue(QUEUES.rosters, {
    connection: app.redis,
    prefix: config.gateway.redisPrefix,
  });
  const scheduler = new RosterScheduler(queue, { connected: () => app.redis.status === 'ready' });
  // BullMQ reports connection trouble as 'error' events; unhandled, one would end the process.
  queue.on('error', (err) => app.log.warn({ err }, 'rosters queue error'));
  app.addHook('onClose', async () => {
    await queue.close();
  });
  acceptCsvBodies(app, config.bodyLimitBytes);
  // Only an items upload takes CSV; elsewhere it is the wrong media type, not a malformed body.
  app.addHook('preValidation', async (request) => {
    if (
      mediaTypeOf(request.headers['content-type']) === 'text/csv' &&
      !request.routeOptions.url?.endsWith('/items')
    ) {
      throw new ApiProblem('UNSUPPORTED_MEDIA_TYPE', { detail: 'This route takes application/json' });
    }
  });

  const limits = { maxItems: config.batchMaxItems, maxBytes: config.bodyLimitBytes };
  /** A visitor roster needs a visit location for its checks: only the configured default exists here. */
  const checkKind = (kind: CheckKind) => {
    if (kind === 'visitor') resolveVisit(kind, undefined, config.gateway.defaultVisit);
  };
  const schedule = (input: ScheduleInput | null | undefined) =>
    input ? validateSchedule(input) : { cron: null, timeZone: undefined };
  const sync = (row: RosterRow, log: FastifyBaseLogger) =>
    scheduler.apply({ id: row.id, cron: row.cron, timeZone: row.timeZone }, log);
  const found = async (id: string) => {
    const row = validId(id) ? await repo.findById(id) : null;
    if (!row) throw rosterNotFound();
    return row;
  };
  const page = <R, V>(rows: R[], limit: number, view: (r: R) => V, cursor: (r: R) => string) => {
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items: items.map(view), nextCursor: rows.length > limit && last ? cursor(last) : null };
  };
  const write = { onRequest: app.requireScope('checks:write') };
  const read = { onRequest: app.requireScope('checks:read') };

  app.post(
    '/rosters',
    {
      ...write,
      schema: {
        tags: ['rosters'],
        summary: 'Create a stored roster, optionally with items and a schedule',
        description:
          'Codes are stored encrypted (never returned; listings show masked codes). A schedule ' +
          '`{cron, timeZone}` (default Europe/Istanbul) creates a batch on each fire time. ' +
          `At most ${config.batchMaxItems} items (413 BATCH_TOO_LARGE).`,
        body: CreateRosterSchema,
        response: {
          201: { description: 'created; see Location', ...RosterSchema },
          ...problemResponses(400, 401, 403, 409, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const kind = body.kind ?? 'standard';
      checkKind(kind);
      const { cron, timeZone } = schedule(body.schedule);
      const items = body.items ? fromJsonItems(body.items as JsonItems, limits) : [];
      const row = await repo.create(
        {
          name: body.name.trim(),
          kind,
          cron,
          timeZone: timeZone ?? 'Europe/Istanbul',
          apiKeyId: request.principal!.keyId,
        },
        items,
      );
      if (row.cron !== null) await sync(row, request.log);
      request.log.info(
        { rosterId: row.id, items: row.itemCount, scheduled: row.cron !== null },
        'roster created',
      );
      return reply.code(201).header('location', `/v1/rosters/${row.id}`).send(presentRoster(row));
    },
  );

  app.get(
    '/rosters',
    {
      ...read,
      schema: {
        tags: ['rosters'],
        summary: 'Stored rosters, oldest first',
        querystring: RosterPageQuerySchema,
        response: { 200: RosterListSchema, ...problemResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const rows = await repo.list(limit, decodeTimeCursor('r', request.query.cursor));
      const now = new Date();
      return page(
        rows,
        limit,
        (r) => presentRoster(r, now),
        (r) => encodeTimeCursor('r', r),
      );
    },
  );

  app.get(
    '/rosters/:id',
    {
      ...read,
      schema: {
        tags: ['rosters'],
        summary: 'A stored roster: item count, schedule with its next fire time, last run',
        params: IdParamsSchema,
        response: { 200: RosterSchema, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request) => presentRoster(await found(request.params.id)),
  );

  app.patch(
    '/rosters/:id',
    {
      ...write,
      schema: {
        tags: ['rosters'],
        summary: 'Rename, change kind, or set/remove the schedule (`schedule: null`)',
        params: IdParamsSchema,
        body: UpdateRosterSchema,
        response: { 200: RosterSchema, ...problemResponses(400, 401, 403, 404, 409, 415, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!validId(id)) throw rosterNotFound();
      const body = request.body;
      if (body.kind) checkKind(body.kind);
      const patch: Parameters<RostersRepository['update']>[1] = {};
      if (body.name !== undefined) patch.name = body.name.trim();
      if (body.kind !== undefined) patch.kind = body.kind;
      if (body.schedule !== undefined) {
        const s = schedule(body.schedule);
        patch.cron = s.cron;
        if (s.timeZone) patch.timeZone = s.timeZone;
      }
      const row = await repo.update(id, patch);
      if (!row) throw rosterNotFound();
      if (body.schedule !== undefined) await sync(row, request.log);
      return presentRoster(row);
    },
  );

  app.put(
    '/rosters/:id/items',
    {
      ...write,
      schema: {
        tags: ['rosters'],
        summary: "Replace a roster's items (JSON or CSV), all at once",
        description:
          'The same formats and limits as POST /v1/batches: JSON `{items:[…]}` or `text/csv` with a header ' +
          'row. All items are replaced in one transaction; on any error the old items stay. An empty list ' +
          'is 400 ROSTER_EMPTY.',
        params: IdParamsSchema,
        body: {
          content: {
            'application/json': { schema: ReplaceItemsJsonSchema },
            'text/csv': { schema: ReplaceItemsCsvSchema },
          },
        },
        response: { 200: RosterSchema, ...problemResponses(400, 401, 403, 404, 413, 415, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      let items: RosterItem[];
      if (mediaTypeOf(request.headers['content-type']) === 'text/csv') {
        items = await parseCsvRoster(request.body as Readable, limits);
      } else {
        items = fromJsonItems((request.body as { items: JsonItems }).items, limits);
      }
      if (items.length === 0) {
        throw new ApiProblem('ROSTER_EMPTY', { detail: 'A roster upload needs at least one item' });
      }
      const row = validId(id) ? await repo.replaceItems(id, items) : null;
      if (!row) throw rosterNotFound();
      request.log.info({ rosterId: id, items: items.length }, 'roster items replaced');
      return presentRoster(row);
    },
  );

  app.get(
    '/rosters/:id/items',
    {
      ...read,
      schema: {
        tags: ['rosters'],
        summary: "A roster's items in order, codes masked",
        params: IdParamsSchema,
        querystring: RosterPageQuerySchema,
        response: { 200: RosterItemListSchema, ...problemResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const roster = await found(request.params.id);
      const limit = request.query.limit ?? 50;
      const rows = await repo.items(roster.id, limit, decodePositionCursor(request.query.cursor));
      return page(rows, limit, presentRosterItem, (r) => encodePositionCursor(r.position));
    },
  );

  app.delete(
    '/rosters/:id',
    {
      ...write,
      schema: {
        tags: ['rosters'],
        summary: 'Delete a roster and its schedule; its past batches stay (rosterId null)',
        params: IdParamsSchema,
        response: { 204: { description: 'deleted', type: 'null' }, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!validId(id) || !(await repo.delete(id))) throw rosterNotFound();
      await scheduler.apply({ id, cron: null, timeZone: '' }, request.log);
      request.log.info({ rosterId: id }, 'roster deleted');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/rosters/:id/runs',
    {
      ...write,
      schema: {
        tags: ['rosters'],
        summary: 'Run a roster now: a batch (trigger `manual`) with one check per item',
        params: IdParamsSchema,
        response: {
          202: { description: 'stored and queued; poll Location', ...BatchSchema },
          ...problemResponses(400, 401, 403, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!validId(id)) throw rosterNotFound();
      const result = await runRoster(
        { pool: app.pgPool, vault: app.vault, defaultVisit: config.gateway.defaultVisit },
        {
          rosterId: id,
          trigger: 'manual',
          scheduledFor: null,
          apiKeyId: request.principal!.keyId,
          requestId: request.id,
        },
      ).catch((err: unknown) => {
        // HES_DATA_KEY changed (or a row was tampered with): nothing was written; the operator must
        // re-upload the items. The caller's request is fine, so a stable 409, not a 500.
        if (err instanceof CodeDecryptionError)
          throw new ApiProblem('ROSTER_UNREADABLE', {
            detail: 'Its stored codes cannot be decrypted with the current data key; upload its items again',
          });
        throw err;
      });
      switch (result.status) {
        case 'not-found':
          throw rosterNotFound();
        case 'empty':
          throw new ApiProblem('ROSTER_EMPTY', { detail: 'The roster has no items; upload some first' });
        case 'visit-required':
          throw new ApiProblem('VISIT_REQUIRED', {
            detail: 'kind "visitor" needs a default visit location (HES_VISIT_*)',
          });
        case 'duplicate':
          // Only scheduled runs (with a fire time) can collide; a manual run never does.
          throw new Error('manual roster run reported a duplicate');
      }
      const { view, jobs } = result;
      const valid = view.counts.queued;
      if (valid > 0) app.intakeMetrics.accepted(view.kind, 'batch', valid);
      if (view.outcomes.INVALID > 0) app.intakeMetrics.rejected('INVALID_HES_CODE', view.outcomes.INVALID);
      await enqueueBatchJobs({ jobs: app.jobs, metrics: app.intakeMetrics }, jobs, request.log);
      request.log.info({ rosterId: id, batchId: view.id, total: view.total }, 'roster run started');
      return reply.code(202).header('location', `/v1/batches/${view.id}`).send(view);
    },
  );

  app.get(
    '/rosters/:id/batches',
    {
      ...read,
      schema: {
        tags: ['rosters'],
        summary: "A roster's history: its batches, newest first, with counts by status and outcome",
        params: IdParamsSchema,
        querystring: RosterPageQuerySchema,
        response: { 200: RosterBatchListSchema, ...problemResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const roster = await found(request.params.id);
      const limit = request.query.limit ?? 50;
      const rows = await app.batchesRepository.recent(limit, decodeTimeCursor('b', request.query.cursor), {
        rosterId: roster.id,
      });
      const counts = await app.batchesRepository.countsOf(rows.slice(0, limit).map((b) => b.id));
      return page(
        rows,
        limit,
        (b) => presentBatch(b, counts.get(b.id) ?? []),
        (b) => encodeTimeCursor('b', b),
      );
    },
  );
};

export default rosters;

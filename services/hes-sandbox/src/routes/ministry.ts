import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { sandboxBulkResponseFor, sandboxOutcomeFor, sandboxResponseFor } from '../dataset.js';
import type { Delays } from '../delays.js';
import type { FaultInjector } from '../faults.js';
import { maskHesCode, normaliseHesCode } from '../hes-code.js';
import {
  badRequest,
  bulkLimitExceeded,
  gatewayErrorPage,
  methodNotAllowed,
  tooManyRequests,
  unauthorized,
  validationError,
} from '../problems.js';
import { SANDBOX_ENDPOINTS, type SandboxEndpoint, type SandboxStats } from '../stats.js';
import {
  type BodyCheck,
  bulkBody,
  bulkCodes,
  isJsonContentType,
  singleCodeBody,
  visitorBody,
} from './request-body.js';

export const LIVE_PREFIX = '/services/g2g/saglik/hes/';
export const TEST_PREFIX = '/services/g2g/test/saglik/hes/';
/** The Ministry's documented maximum of codes per bulk call. */
export const BULK_LIMIT = 500;

export interface MinistryRoutesOptions {
  stats: SandboxStats;
  faults: FaultInjector;
  delays: Delays;
  checkAuth: (authorization: string | undefined) => boolean;
  /** The request's arrival time (monotonic ms), as recorded by the app's first hook. */
  arrivalOf: (request: FastifyRequest) => number;
}

const OBJECT_NAMES: Record<SandboxEndpoint, string> = {
  'check-hes-code': 'hesCodeRequest',
  'check-employee-hes-code': 'hesCodeRequest',
  'check-visitor-hes-code': 'visitorHesCodeRequest',
  'check-hes-code-plus': 'hesCodeRequest',
  'check-hes-codes': 'hesCodeRequestList',
  'check-hes-codes-plus': 'hesCodeRequestList',
};

const pathOf = (request: FastifyRequest): string => request.url.split('?')[0] ?? request.url;

/**
 * The six Ministry endpoints on both the live and the test prefix. Every call passes the same gate in
 * this order: Basic auth (401), the rate limit (429), then the injected faults of an accepted request
 * (delay, reset, 5xx), and only then the body is looked at.
 */
export async function ministryRoutes(app: FastifyInstance, options: MinistryRoutesOptions): Promise<void> {
  const { stats, faults, delays, checkAuth, arrivalOf } = options;

  const gate = (endpoint: SandboxEndpoint): onRequestAsyncHookHandler =>
    async function ministryGate(request, reply) {
      const arrival = arrivalOf(request);
      stats.recordEndpoint(endpoint);
      if (!checkAuth(request.headers.authorization)) {
        stats.recordAuthFailure();
        return reply
          .code(401)
          .header('www-authenticate', 'Basic realm="hesservis"')
          .send(unauthorized(pathOf(request)));
      }
      const admission = faults.admit(arrival);
      if (!admission.admitted) {
        return reply
          .code(429)
          .header('retry-after', String(admission.retryAfterSeconds))
          .send(tooManyRequests(pathOf(request), admission.retryAfterSeconds));
      }
      stats.recordAccepted(arrival);
      const fault = faults.decide();
      await delays.wait(fault.delayMs);
      if (fault.reset) {
        stats.recordReset();
        request.log.debug({ endpoint }, 'injected fault: connection reset');
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      }
      if (fault.errorStatus !== null) {
        request.log.debug({ endpoint, status: fault.errorStatus }, 'injected fault: gateway error');
        return reply
          .code(fault.errorStatus)
          .type('text/html; charset=utf-8')
          .send(gatewayErrorPage(fault.errorStatus));
      }
      if (fault.slow)
        request.log.debug({ endpoint, delayMs: fault.delayMs }, 'injected fault: slow response');
    };

  /** Runs a body check; on failure answers 400 and returns null. */
  function accept<T>(
    request: FastifyRequest,
    reply: FastifyReply,
    endpoint: SandboxEndpoint,
    check: BodyCheck<T>,
  ): T | null {
    if (check.ok) return check.value;
    void reply
      .code(400)
      .send(validationError(pathOf(request), OBJECT_NAMES[endpoint], check.field, check.message));
    return null;
  }

  function requireJson(request: FastifyRequest, reply: FastifyReply): boolean {
    if (isJsonContentType(request.headers['content-type'])) return true;
    void reply.code(400).send(badRequest(pathOf(request), 'Content-Type must be application/json'));
    return false;
  }

  const single = (endpoint: SandboxEndpoint, plus: boolean, visitor: boolean) =>
    async function checkOne(request: FastifyRequest, reply: FastifyReply) {
      if (!requireJson(request, reply)) return reply;
      const raw = accept(
        request,
        reply,
        endpoint,
        visitor ? visitorBody(request.body) : singleCodeBody(request.body),
      );
      if (raw === null) return reply;
      const outcome = normaliseHesCode(raw) === null ? 'INVALID' : sandboxOutcomeFor(raw);
      stats.recordCodes(outcome);
      request.log.debug({ endpoint, code: maskHesCode(raw), outcome }, 'checked HES code');
      const response = sandboxResponseFor(raw, { plus });
      return reply.code(response.status).send(response.body);
    };

  const bulk = (endpoint: SandboxEndpoint, plus: boolean) =>
    async function checkMany(request: FastifyRequest, reply: FastifyReply) {
      if (!requireJson(request, reply)) return reply;
      const items = accept(request, reply, endpoint, bulkBody(request.body));
      if (items === null) return reply;
      stats.recordBulkSize(items.length);
      if (items.length > BULK_LIMIT) {
        return reply.code(400).send(bulkLimitExceeded(pathOf(request), BULK_LIMIT, items.length));
      }
      const codes = accept(request, reply, endpoint, bulkCodes(items));
      if (codes === null) return reply;
      for (const code of codes)
        stats.recordCodes(normaliseHesCode(code) === null ? 'INVALID' : sandboxOutcomeFor(code));
      request.log.debug({ endpoint, codes: codes.length }, 'checked HES codes in bulk');
      return reply.send(sandboxBulkResponseFor(codes, { plus }));
    };

  const handlers: Record<
    SandboxEndpoint,
    (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>
  > = {
    'check-hes-code': single('check-hes-code', false, false),
    'check-employee-hes-code': single('check-employee-hes-code', false, false),
    'check-visitor-hes-code': single('check-visitor-hes-code', false, true),
    'check-hes-code-plus': single('check-hes-code-plus', true, false),
    'check-hes-codes': bulk('check-hes-codes', false),
    'check-hes-codes-plus': bulk('check-hes-codes-plus', true),
  };

  const notAllowed = async (request: FastifyRequest, reply: FastifyReply) =>
    reply.sent
      ? reply
      : reply
          .code(405)
          .header('allow', 'POST')
          .send(methodNotAllowed(request.method, pathOf(request)));

  for (const endpoint of SANDBOX_ENDPOINTS) {
    for (const prefix of [LIVE_PREFIX, TEST_PREFIX]) {
      const url = prefix + endpoint;
      app.route({ method: 'POST', url, onRequest: gate(endpoint), handler: handlers[endpoint] });
      // Only POST exists; other methods get the 405 a Spring service gives, after the same gate and
      // before any body is parsed (a PUT with a broken body is still a 405).
      app.route({
        method: ['GET', 'PUT', 'PATCH', 'DELETE'],
        url,
        onRequest: [gate(endpoint), notAllowed],
        handler: notAllowed,
      });
    }
  }
}

import { randomUUID } from 'node:crypto';
import { type CheckKind, type CheckRow, type CodeVault, planSingle, type VisitDefaults } from '@hes/core';
import type { FastifyBaseLogger } from 'fastify';
import type { ChecksRepository, IdempotencyClaim, NewCheck } from '../adapters/checks-repository.js';
import type { JobQueue } from '../adapters/job-queue.js';
import { intakeCode } from './hes-code.js';
import { requestFingerprint } from './idempotency.js';
import type { IntakeMetrics } from './intake-metrics.js';
import { ApiProblem } from './problem.js';
import { resolveVisit, type VisitInput } from './visit.js';

export interface CheckRequest {
  hesCode: string;
  kind?: CheckKind | undefined;
  reference?: string | undefined;
  identityLast3?: string | undefined;
  visit?: VisitInput | undefined;
}

export interface CheckIntakeDeps {
  checks: ChecksRepository;
  jobs: JobQueue;
  vault: CodeVault;
  metrics: IntakeMetrics;
  defaultVisit: VisitDefaults | null;
}

export interface IntakeContext {
  apiKeyId: string;
  requestId: string;
  idempotencyKey?: string | undefined;
  log: FastifyBaseLogger;
  /**
   * Runs once the new check is committed and before its job is enqueued: `?wait=` subscribes to the
   * completion event here, so even a worker faster than this request cannot finish unobserved.
   */
  onStored?: ((checkId: string) => void) | undefined;
}

export interface IntakeResult {
  checkId: string;
  /** false when an Idempotency-Key replay returned an existing check. */
  created: boolean;
  /** The stored row as of the insert (status queued); absent for a replay, which must be read. */
  row?: CheckRow | undefined;
}

function rejectMalformed(metrics: IntakeMetrics, reason: string, message: string): never {
  metrics.rejected('INVALID_HES_CODE', 1);
  throw new ApiProblem('INVALID_HES_CODE', {
    detail: message,
    errors: [{ path: '/hesCode', in: 'body', message: reason }],
  });
}

/**
 * A single check: validated, stored (encrypted) before it is acknowledged, then enqueued. Malformed
 * codes are rejected and not stored (a roster keeps them as INVALID checks instead).
 */
export async function submitCheck(
  deps: CheckIntakeDeps,
  req: CheckRequest,
  ctx: IntakeContext,
): Promise<IntakeResult> {
  const kind = req.kind ?? 'standard';
  const code = intakeCode(req.hesCode);
  if (!code.ok) rejectMalformed(deps.metrics, code.reason, code.message);
  let visit: ReturnType<typeof resolveVisit>;
  try {
    visit = resolveVisit(kind, req.visit, deps.defaultVisit);
  } catch (err) {
    if (err instanceof ApiProblem) deps.metrics.rejected(err.code, 1);
    throw err;
  }

  let claim: IdempotencyClaim | undefined;
  if (ctx.idempotencyKey !== undefined) {
    const requestHash = requestFingerprint(deps.vault, {
      hesCode: code.code,
      kind,
      reference: req.reference,
      identityLast3: req.identityLast3,
      visit,
    });
    claim = { apiKeyId: ctx.apiKeyId, key: ctx.idempotencyKey, requestHash };
    // Fast path for client retries: no encryption, no insert to roll back.
    const existing = await deps.checks.findIdempotency(ctx.apiKeyId, ctx.idempotencyKey);
    if (existing) return replay(existing, requestHash);
  }

  const id = randomUUID();
  const job = planSingle(id, ctx.requestId);
  const row: NewCheck = {
    id,
    kind,
    status: 'queued',
    codeCipher: new Uint8Array(deps.vault.encrypt(code.code, id)),
    codeHmac: deps.vault.hmac(code.code),
    codeMasked: code.masked,
    reference: req.reference ?? null,
    identityLast3: req.identityLast3 ?? null,
    ...(visit ? { visit: { ...visit } } : {}),
    jobId: job.jobId,
    requestId: ctx.requestId,
    apiKeyId: ctx.apiKeyId,
  };
  const result = await deps.checks.insert(row, claim);
  if (result.status === 'replay') return replay(result.record, claim!.requestHash);
  if (result.status === 'in-progress') {
    throw new ApiProblem('IDEMPOTENCY_IN_PROGRESS', {
      detail: 'Another request with this Idempotency-Key has not finished; retry shortly',
      headers: { 'retry-after': '1' },
    });
  }

  deps.metrics.accepted(kind, 'single', 1);
  ctx.onStored?.(id);
  if (!(await deps.jobs.enqueue([job], ctx.log))) deps.metrics.enqueueFailed('single');
  return { checkId: id, created: true, row: result.row };
}

function replay(record: { requestHash: string; checkId: string }, requestHash: string): IntakeResult {
  if (record.requestHash !== requestHash) {
    throw new ApiProblem('IDEMPOTENCY_KEY_REUSED', {
      detail: 'This Idempotency-Key was used with a different request body',
    });
  }
  return { checkId: record.checkId, created: false };
}

import { normalizeHesCode } from '@hes/client';
import {
  type BulkCheckJob,
  CHECK_ERROR_CODES,
  type CodeVault,
  type Logger,
  laneOf,
  publishChecksFinal,
  type SingleCheckJob,
  type VisitDefaults,
} from '@hes/core';
import type { Redis } from 'ioredis';
import type { ChecksRepository, ClaimedCheck, FinalResult } from '../adapters/checks-repository.js';
import type { WorkerMetrics } from '../adapters/metrics.js';
import type { Endpoint, HesApi, HesCodeResult, VisitLocation } from './hes-api.js';
import {
  failed,
  failedCredentials,
  failedExhausted,
  failedProcessing,
  failedProtocol,
  failedUndecryptable,
  mapBusiness,
  mapSuccess,
} from './outcome-mapper.js';
import { SharedBulkCalls } from './shared-bulk-calls.js';
import type { CallOutcome, CallSignals, UpstreamCaller } from './upstream-caller.js';

/** Thrown to hand the job back to BullMQ for a retry with backoff. Carries no code (it is stored in Redis). */
export class RetryableUpstreamError extends Error {
  constructor(readonly lastError: string) {
    super(`transient upstream failure (${lastError}): retrying with backoff`);
    this.name = 'RetryableUpstreamError';
  }
}

export interface JobContext {
  jobId: string;
  /** This is the job's last attempt: a transient failure now fails the checks instead of retrying. */
  lastAttempt: boolean;
  signals: CallSignals;
  logger: Logger;
}

export interface JobReport {
  checks: number;
  completed: number;
  failed: number;
  /** Checks left pending for the retry this job is about to throw for. */
  retrying: number;
}

export interface CheckProcessorOptions {
  repo: ChecksRepository;
  vault: CodeVault;
  api: HesApi;
  caller: UpstreamCaller;
  metrics: WorkerMetrics;
  /** Publishes completion events (core's check-events) for the API's `?wait=`. */
  redis: Redis;
  redisPrefix: string;
  defaultVisit: VisitDefaults | null;
}

/** Checks handled between two yields to the event loop in a bulk job's CPU-bound loops. */
const YIELD_EVERY = 64;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The single endpoints of the kinds that have no bulk one (the others go through SharedBulkCalls). */
const SINGLE_ENDPOINT = {
  employee: 'check-employee-hes-code',
  visitor: 'check-visitor-hes-code',
} as const satisfies Record<'employee' | 'visitor', Endpoint>;

/**
 * The work of a check job, start to finish: claim the still-pending rows (one UPDATE), decrypt, one
 * upstream call (shared with other single checks when their kind has a bulk endpoint), map the answer,
 * one idempotent result write, batch completion, completion events.
 */
export class CheckProcessor {
  readonly #o: CheckProcessorOptions;
  readonly #shared: SharedBulkCalls;

  constructor(options: CheckProcessorOptions) {
    this.#o = options;
    this.#shared = new SharedBulkCalls(options.caller, options.api);
  }

  async runSingle(data: SingleCheckJob, ctx: JobContext): Promise<JobReport> {
    const { repo } = this.#o;
    const [check] = await repo.claim([data.checkId]);
    if (!check) {
      // Already final (a redelivery) or purged. Finish what a crashed predecessor may have left undone.
      await this.#afterRedelivery(data.checkId);
      return { checks: 0, completed: 0, failed: 0, retrying: 0 };
    }
    if (check.batchId) await repo.markBatchRunning(check.batchId);
    const code = this.#codeOf(check);
    if (typeof code !== 'string') return this.#finish([code], [check.batchId], 0);

    // A check submitted on its own may be one someone is waiting for at a door.
    const lane = laneOf(check.batchId);
    let send: (signal: AbortSignal) => Promise<HesCodeResult>;
    const { api } = this.#o;
    switch (check.kind) {
      case 'standard':
      case 'plus':
        return this.#settleSingle(check, await this.#shared.check(check.kind, code, lane, ctx.signals), ctx);
      case 'employee':
        send = (signal) => api.checkEmployeeHesCode(code, { signal });
        break;
      case 'visitor': {
        const visit = this.#visitOf(check);
        if (!visit) {
          const message = 'visitor check without a visit location, and HES_VISIT_* is not configured';
          return this.#finish(
            [failed(check.id, CHECK_ERROR_CODES.unknownBusiness, message)],
            [check.batchId],
            0,
          );
        }
        send = (signal) => api.checkVisitorHesCode(code, visit, { signal });
        break;
      }
    }

    const outcome = await this.#o.caller.call(SINGLE_ENDPOINT[check.kind], 1, send, ctx.signals, lane);
    return this.#settleSingle(check, outcome, ctx);
  }

  #settleSingle(check: ClaimedCheck, outcome: CallOutcome<HesCodeResult>, ctx: JobContext) {
    if (outcome.type === 'ok') return this.#finish([mapSuccess(check, outcome.value)], [check.batchId], 0);
    if (outcome.type === 'business' && outcome.reason !== 'MISSING') {
      return this.#finish([mapBusiness(check.id, outcome.reason, outcome.errorKey)], [check.batchId], 0);
    }
    return this.#finishFailure(outcome, [check], ctx);
  }

  async runBulk(data: BulkCheckJob, ctx: JobContext): Promise<JobReport> {
    const { repo } = this.#o;
    const checks = await repo.claim(data.checkIds);
    if (checks.length === 0) {
      if (data.batchId) await repo.completeBatchIfDone(data.batchId);
      return { checks: 0, completed: 0, failed: 0, retrying: 0 };
    }
    if (data.batchId) await repo.markBatchRunning(data.batchId);
    const batchIds = [data.batchId, ...checks.map((c) => c.batchId)];

    const results: FinalResult[] = [];
    const byCode = new Map<string, ClaimedCheck[]>();
    let n = 0;
    for (const check of checks) {
      // 500 decryptions are several ms of CPU: let other jobs' limiter timers fire in between, or their
      // slots arrive late and are forfeit (HES_RATE_LIMIT_MARGIN_MS).
      if (++n % YIELD_EVERY === 0) await yieldToEventLoop();
      const code = this.#codeOf(check);
      if (typeof code !== 'string') results.push(code);
      else if (byCode.has(code)) byCode.get(code)!.push(check);
      else byCode.set(code, [check]);
    }
    if (byCode.size === 0) return this.#finish(results, batchIds, 0);

    // A roster may hold a code twice: it is asked once and the answer goes to every check carrying it.
    const codes = [...byCode.keys()];
    const { api } = this.#o;
    const endpoint = data.kind === 'plus' ? 'check-hes-codes-plus' : 'check-hes-codes';
    const send =
      data.kind === 'plus'
        ? (signal: AbortSignal) => api.checkHesCodesPlus(codes, { signal })
        : (signal: AbortSignal) => api.checkHesCodes(codes, { signal });
    const outcome = await this.#o.caller.call(endpoint, codes.length, send, ctx.signals);
    if (outcome.type !== 'ok') {
      const pending = [...byCode.values()].flat();
      if (outcome.type === 'business') {
        // A 400 for the whole list is not an answer about any one code.
        for (const check of pending) results.push(mapBusiness(check.id, 'UNKNOWN', outcome.errorKey));
        return this.#finish(results, batchIds, 0);
      }
      return this.#finishFailure(outcome, pending, ctx, results, batchIds);
    }

    const missing: ClaimedCheck[] = [];
    const entries = new Map(outcome.value.map((e) => [e.code, e]));
    n = 0;
    for (const [code, group] of byCode) {
      if (++n % YIELD_EVERY === 0) await yieldToEventLoop();
      const entry = entries.get(code);
      for (const check of group) {
        if (!entry) missing.push(check);
        else if (entry.ok) results.push(mapSuccess(check, entry.result));
        else if (entry.reason === 'MISSING') missing.push(check);
        else results.push(mapBusiness(check.id, entry.reason, entry.errorKey));
      }
    }
    if (missing.length === 0) return this.#finish(results, batchIds, 0);
    // Codes the Ministry left out of both maps: only those are retried, as a transient failure.
    if (ctx.lastAttempt) {
      for (const check of missing)
        results.push(failedExhausted(check.id, 'code missing from the bulk answer'));
      return this.#finish(results, batchIds, 0);
    }
    await this.#finish(results, batchIds, missing.length);
    throw new RetryableUpstreamError('codes missing from the bulk answer');
  }

  /** Credentials, protocol and transient failures of a whole call. */
  async #finishFailure(
    outcome: Exclude<CallOutcome<unknown>, { type: 'ok' }>,
    checks: ClaimedCheck[],
    ctx: JobContext,
    results: FinalResult[] = [],
    batchIds: (string | null)[] = checks.map((c) => c.batchId),
  ): Promise<JobReport> {
    for (const check of checks) {
      switch (outcome.type) {
        case 'credentials':
          results.push(failedCredentials(check.id));
          break;
        case 'protocol':
          results.push(failedProtocol(check.id, outcome.errorClass));
          break;
        case 'business':
          results.push(mapBusiness(check.id, 'UNKNOWN', outcome.errorKey));
          break;
        case 'transient':
          if (ctx.lastAttempt) results.push(failedExhausted(check.id, outcome.errorClass));
          break;
      }
    }
    if (outcome.type === 'transient' && !ctx.lastAttempt) {
      // Undecryptable rows of the chunk are final already; the rest waits for the retry.
      await this.#finish(results, batchIds, checks.length);
      throw new RetryableUpstreamError(outcome.errorClass);
    }
    return this.#finish(results, batchIds, 0);
  }

  /** One idempotent write, then batch completion, events and metrics for the rows it really moved. */
  async #finish(results: FinalResult[], batchIds: (string | null)[], retrying: number): Promise<JobReport> {
    const { repo, metrics } = this.#o;
    const rows = await repo.writeFinal(results);
    for (const batchId of new Set([...batchIds, ...rows.map((r) => r.batchId)])) {
      if (batchId) await repo.completeBatchIfDone(batchId);
    }
    await publishChecksFinal(
      this.#o.redis,
      this.#o.redisPrefix,
      rows.map((r) => r.id),
    );
    let completed = 0;
    for (const row of rows) {
      if (row.status === 'completed') {
        completed++;
        metrics.checksCompleted.inc({ kind: row.kind, outcome: row.outcome ?? 'UNKNOWN' });
      } else {
        metrics.checksFailed.inc({ kind: row.kind, code: row.errorCode ?? 'UNKNOWN' });
      }
      metrics.checkLatency.observe({ kind: row.kind }, row.latencySeconds);
    }
    return { checks: results.length + retrying, completed, failed: rows.length - completed, retrying };
  }

  /**
   * The last attempt of a job failed for a reason of our own (not the Ministry's): fail its checks that
   * are still pending, so they end `failed` with PROCESSING_FAILED instead of being re-driven by the
   * reconciler forever. When PostgreSQL itself is the reason this write fails too, the checks stay
   * pending and the reconciler re-drives them once it is back, which is then the right thing.
   */
  async failProcessing(checkIds: readonly string[], batchIds: (string | null)[], errorClass: string) {
    return this.#finish(
      checkIds.map((id) => failedProcessing(id, errorClass)),
      batchIds,
      0,
    );
  }

  async #afterRedelivery(checkId: string): Promise<void> {
    const row = await this.#o.repo.finalStateOf(checkId);
    if (!row) return;
    if (row.batchId) await this.#o.repo.completeBatchIfDone(row.batchId);
    await publishChecksFinal(this.#o.redis, this.#o.redisPrefix, [checkId]);
  }

  /** The code to send, or the final result of a check that cannot be sent. */
  #codeOf(check: ClaimedCheck): string | FinalResult {
    let plain: string;
    try {
      if (!check.codeCipher) return failedUndecryptable(check.id);
      plain = this.#o.vault.decrypt(check.codeCipher, check.id);
    } catch {
      return failedUndecryptable(check.id);
    }
    // The API stores normalised codes and answers malformed ones itself; a row that still holds one
    // gets the same INVALID outcome, never a request (one bad code would sink a whole bulk call).
    const normalized = normalizeHesCode(plain);
    return normalized.ok ? normalized.code : { id: check.id, status: 'completed', outcome: 'INVALID' };
  }

  #visitOf(check: ClaimedCheck): VisitLocation | null {
    const v = check.visit as Partial<Record<keyof VisitLocation, unknown>> | null;
    if (v && typeof v.city === 'string' && typeof v.district === 'string' && typeof v.address === 'string') {
      return {
        city: v.city,
        district: v.district,
        address: v.address,
        latitude: typeof v.latitude === 'number' ? v.latitude : null,
        longitude: typeof v.longitude === 'number' ? v.longitude : null,
      };
    }
    return this.#o.defaultVisit;
  }
}

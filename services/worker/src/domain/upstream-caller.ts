import type { JobLane, Logger } from '@hes/core';
import type { WorkerMetrics } from '../adapters/metrics.js';
import {
  type RedisRateLimiter,
  type Reservation,
  realSleep,
  type Sleep,
} from '../adapters/redis-rate-limiter.js';
import type { CredentialsCircuit } from './credentials-circuit.js';
import type { Endpoint } from './hes-api.js';
import { classifyUpstreamError, type UpstreamFailure } from './outcome-mapper.js';

/** The job must go back to the queue untouched (graceful shutdown while it waited for a slot). */
export class ReturnToQueueError extends Error {
  constructor() {
    super('worker is shutting down: job returned to the queue');
    this.name = 'ReturnToQueueError';
  }
}

export type CallOutcome<T> =
  | { type: 'ok'; value: T }
  | Extract<UpstreamFailure, { type: 'business' | 'protocol' | 'transient' }>
  | { type: 'credentials'; calledUpstream: boolean };

export interface CallSignals {
  /** Aborts waiting (for a slot, a pause): graceful shutdown. In-flight requests are let finish. */
  drain: AbortSignal;
  /** Aborts in-flight requests: forced shutdown. */
  force: AbortSignal;
}

export interface UpstreamCallerOptions {
  limiter: RedisRateLimiter;
  circuit: CredentialsCircuit;
  metrics: WorkerMetrics;
  logger: Logger;
  /** Longest a single call waits out 429s before it counts as transient (then BullMQ's backoff applies). */
  maxThrottledMs: number;
  now?: () => number;
  sleep?: Sleep;
}

/** Retry-After absent → 1 s; an absurd value is capped so one answer cannot park the fleet for hours. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
export const MAX_RETRY_AFTER_MS = 60_000;
/** How often a caller looks again while another process's credentials probe is in flight. */
const PROBE_POLL_MS = 50;

/**
 * Every request to the Ministry goes through here: credentials circuit, the fleet-wide rate limit, the
 * request, metrics. 429s are handled in this loop (fleet-wide pause, then the same call again) and do
 * not consume the job's attempts; every other failure is returned for the job to decide.
 */
export class UpstreamCaller {
  readonly #o: UpstreamCallerOptions;
  readonly #now: () => number;
  readonly #sleep: Sleep;

  constructor(options: UpstreamCallerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
  }

  /**
   * `endpoint` and `codes` may be read only when the slot has come (a shared call is still taking codes
   * until then: SharedBulkCalls).
   */
  async call<T>(
    endpointOf: Endpoint | (() => Endpoint),
    codesOf: number | (() => number),
    send: (signal: AbortSignal) => Promise<T>,
    signals: CallSignals,
    lane: JobLane = 'roster',
  ): Promise<CallOutcome<T>> {
    const { limiter, circuit, metrics, logger } = this.#o;
    const throttledSince = this.#now();
    for (;;) {
      if (signals.drain.aborted) throw new ReturnToQueueError();
      // Before spending a slot: fail fast while the circuit is open, wait while another process probes.
      const admission = await circuit.admit();
      if (admission === 'open') return { type: 'credentials', calledUpstream: false };
      if (admission === 'probing') {
        await this.#wait(PROBE_POLL_MS, signals);
        continue;
      }
      let reservation: Reservation;
      // Another process may have been rejected while this one waited for its slot: ask again then.
      let rejectedMeanwhile = false;
      const atSlot = async () => {
        rejectedMeanwhile = admission === 'closed' && (await circuit.isFailing());
      };
      try {
        reservation = await limiter.acquire(signals.drain, atSlot, lane);
      } catch (err) {
        if (admission === 'probe') await circuit.releaseProbe();
        if (signals.drain.aborted) throw new ReturnToQueueError();
        throw err;
      }
      if (rejectedMeanwhile) {
        if (admission === 'probe') await circuit.releaseProbe();
        continue;
      }
      const departure = await limiter.depart(reservation);
      if (departure.state === 'forfeit') {
        if (admission === 'probe') await circuit.releaseProbe();
        metrics.lateSlots.inc();
        continue;
      }
      if (departure.state === 'late') {
        metrics.lateDepartures.inc();
        metrics.lateDepartureSeconds.inc(departure.lateMs / 1000);
      }

      const endpoint = typeof endpointOf === 'function' ? endpointOf() : endpointOf;
      const stopTimer = metrics.upstreamDuration.startTimer({ endpoint });
      metrics.codesPerCall.observe(typeof codesOf === 'function' ? codesOf() : codesOf);
      let failure: UpstreamFailure;
      try {
        const pending = send(signals.force);
        // undici writes the request in the dispatching call: it is on its socket now. Its real
        // departure is recorded for its lane (not awaited: nothing here depends on it).
        void limiter.sent(reservation).then((lateMs) => metrics.departureLateness.observe(lateMs / 1000));
        const value = await pending;
        stopTimer();
        metrics.upstreamRequests.inc({ endpoint, result: 'ok' });
        if (admission === 'probe') await this.#credentialsAccepted();
        return { type: 'ok', value };
      } catch (err) {
        stopTimer();
        failure = classifyUpstreamError(err);
      }

      if (failure.type === 'aborted') {
        if (admission === 'probe') await circuit.releaseProbe();
        throw new ReturnToQueueError();
      }
      metrics.upstreamRequests.inc({ endpoint, result: failure.type });
      switch (failure.type) {
        case 'credentials': {
          const state = await circuit.reject();
          if (state === 'opened') {
            logger.error(
              { endpoint },
              'the Ministry rejected HES_USERNAME/HES_PASSWORD (401/403): failing checks without calling upstream until a probe succeeds',
            );
          } else if (state === 'reopened') {
            logger.warn({ endpoint }, 'credentials still rejected by the Ministry after the cooldown');
          }
          return { type: 'credentials', calledUpstream: true };
        }
        case 'throttled': {
          if (admission === 'probe') await circuit.releaseProbe();
          const pauseMs = Math.min(
            MAX_RETRY_AFTER_MS,
            Math.max(0, failure.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS),
          );
          const pause = await limiter.pause(pauseMs);
          if (pause.extended) {
            metrics.throttlePauses.inc();
            logger.warn({ endpoint, pauseMs }, 'the Ministry answered 429: pausing the whole fleet');
          }
          if (this.#now() - throttledSince >= this.#o.maxThrottledMs) {
            return { type: 'transient', errorClass: 'HesThrottledError' };
          }
          continue;
        }
        case 'transient':
          if (admission === 'probe') await circuit.releaseProbe();
          return failure;
        default:
          // business and protocol answers came from an authenticated Ministry.
          if (admission === 'probe') await this.#credentialsAccepted();
          return failure;
      }
    }
  }

  async #wait(ms: number, signals: CallSignals): Promise<void> {
    try {
      await this.#sleep(ms, signals.drain);
    } catch (err) {
      if (signals.drain.aborted) throw new ReturnToQueueError();
      throw err;
    }
  }

  async #credentialsAccepted(): Promise<void> {
    if (await this.#o.circuit.accept()) {
      this.#o.logger.info('the Ministry accepts HES_USERNAME/HES_PASSWORD again: credentials circuit closed');
    }
  }
}

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type UpstreamResult = 'ok' | 'business' | 'throttled' | 'transient' | 'credentials' | 'protocol';

/** Live values read at scrape time (fleet-wide state lives in Redis and PostgreSQL). */
export interface MetricsProbes {
  queueCounts(): Promise<{ waiting: number; active: number; delayed: number; failed: number }>;
  oldestPendingAgeSeconds(): Promise<number>;
  credentialsFailing(): Promise<boolean>;
}

/**
 * The worker's Prometheus metrics on its own registry (one per runtime, so in-process tests do not
 * collide). Labels are low-cardinality: endpoint, kind, outcome, error code, queue state.
 */
export class WorkerMetrics {
  readonly registry: Registry;
  readonly upstreamRequests: Counter<'endpoint' | 'result'>;
  readonly upstreamDuration: Histogram<'endpoint'>;
  readonly codesPerCall: Histogram;
  readonly rateLimitRps: Gauge;
  readonly throttlePauses: Counter;
  readonly lateSlots: Counter;
  readonly lateDepartures: Counter;
  readonly lateDepartureSeconds: Counter;
  readonly departureLateness: Histogram;
  readonly checksCompleted: Counter<'kind' | 'outcome'>;
  readonly checksFailed: Counter<'kind' | 'code'>;
  readonly retries: Counter;
  readonly redriven: Counter;
  readonly purged: Counter<'table'>;
  readonly checkLatency: Histogram<'kind'>;
  readonly queueWait: Histogram<'lane'>;
  #probes: MetricsProbes | null = null;

  constructor(options: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const probes = () => this.#probes;

    this.upstreamRequests = new Counter({
      name: 'hes_worker_upstream_requests_total',
      help: 'Requests sent to the Ministry API, by endpoint and result',
      labelNames: ['endpoint', 'result'],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'hes_worker_upstream_request_duration_seconds',
      help: 'Duration of Ministry API requests (excluding the rate-limit wait)',
      labelNames: ['endpoint'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers,
    });
    this.codesPerCall = new Histogram({
      name: 'hes_worker_upstream_codes_per_call',
      help: 'HES codes carried by one upstream request',
      buckets: [1, 10, 50, 100, 250, 500],
      registers,
    });
    this.rateLimitRps = new Gauge({
      name: 'hes_worker_rate_limit_rps',
      help: 'Configured fleet-wide request rate towards the Ministry',
      registers,
    });
    this.throttlePauses = new Counter({
      name: 'hes_worker_throttle_pauses_total',
      help: 'Fleet-wide pauses started or extended by a 429 from the Ministry',
      registers,
    });
    this.lateSlots = new Counter({
      name: 'hes_worker_rate_limit_late_slots_total',
      help: 'Rate-limit slots given up because the request would have left so late (about a second) that the request rps places later was already on its way',
      registers,
    });
    this.lateDepartures = new Counter({
      name: 'hes_worker_rate_limit_late_departures_total',
      help: "Requests that left later than a quarter of the margin after their slot: recorded, their lane's next request waits for them",
      registers,
    });
    this.lateDepartureSeconds = new Counter({
      name: 'hes_worker_rate_limit_late_departure_seconds_total',
      help: 'Sum of that lateness beyond a quarter of the margin (each delays one later request by as much)',
      registers,
    });
    this.departureLateness = new Histogram({
      name: 'hes_worker_rate_limit_departure_lateness_seconds',
      help: 'How long after its rate-limit slot each request to the Ministry was on its socket (the margin must cover this plus delivery jitter)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.1, 0.25, 1],
      registers,
    });
    new Gauge({
      name: 'hes_worker_upstream_credentials_failing',
      help: '1 while the Ministry rejects HES_USERNAME/HES_PASSWORD (fleet-wide circuit open or half-open)',
      registers,
      async collect() {
        const p = probes();
        if (p) this.set((await p.credentialsFailing().catch(() => false)) ? 1 : 0);
      },
    });
    this.checksCompleted = new Counter({
      name: 'hes_worker_checks_completed_total',
      help: 'Checks that reached status completed, by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.checksFailed = new Counter({
      name: 'hes_worker_checks_failed_total',
      help: 'Checks that reached status failed, by kind and error code',
      labelNames: ['kind', 'code'],
      registers,
    });
    this.retries = new Counter({
      name: 'hes_worker_retries_total',
      help: 'Jobs handed back to the queue for a retry after a transient upstream failure',
      registers,
    });
    this.redriven = new Counter({
      name: 'hes_worker_reconciler_redriven_total',
      help: 'Pending checks re-enqueued by the reconciler because their job was missing',
      registers,
    });
    this.purged = new Counter({
      name: 'hes_worker_retention_purged_total',
      help: 'Rows deleted by the retention purge, by table',
      labelNames: ['table'],
      registers,
    });
    this.checkLatency = new Histogram({
      name: 'hes_worker_check_latency_seconds',
      help: 'Time from acceptance (created_at) to a final status',
      labelNames: ['kind'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.queueWait = new Histogram({
      name: 'hes_worker_job_queue_wait_seconds',
      help: 'Time a check job waited in the queue before a worker took it (first attempts), by lane',
      labelNames: ['lane'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
      registers,
    });
    const queueGauge = new Gauge({
      name: 'hes_worker_queue_jobs',
      help: 'Jobs of the checks queue by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const p = probes();
        if (!p) return;
        const counts = await p.queueCounts().catch(() => null);
        if (counts) for (const [state, n] of Object.entries(counts)) queueGauge.set({ state }, n);
      },
    });
    new Gauge({
      name: 'hes_worker_oldest_pending_check_age_seconds',
      help: 'Age of the oldest pending check since it was accepted or last touched (0 when none)',
      registers,
      async collect() {
        const p = probes();
        if (!p) return;
        const age = await p.oldestPendingAgeSeconds().catch(() => null);
        if (age !== null) this.set(age);
      },
    });
  }

  /** Wires the scrape-time gauges once the queue and database exist. */
  setProbes(probes: MetricsProbes): void {
    this.#probes = probes;
  }
}

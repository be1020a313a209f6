/**
 * Issue 6 §2: the Ministry down for minutes. For a bit over two minutes the Ministry first answers every
 * request with a 5xx, then refuses connections altogether (a TCP proxy in front of the sandbox stops
 * listening), while single checks and rosters are submitted. The retry budget (HES_MAX_ATTEMPTS and
 * the backoff below) outlasts the outage, so:
 *   - a backlog builds and nothing reaches `failed`;
 *   - the metrics show it (upstream errors by result, delayed jobs, pending-check age, retries), read
 *     through a real Prometheus scraping the listening API and worker;
 *   - the production alert expressions of deploy/prometheus/alerts.yml show it: HesUpstreamErrorRatioHigh
 *     goes pending then firing, HesChecksFailing and HesApiErrorRatioHigh stay quiet;
 *   - after recovery every check completes and the alert resolves.
 * Wall time ≈ 4 minutes by design (the outage alone is 130 s); skipped where Prometheus is missing.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { generateSandboxCodes } from '@hes/sandbox';
import type { WorkerRuntime } from '@hes/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMETHEUS_DIR, parseAlertRules } from '../deploy/deploy-files.js';
import {
  PROMETHEUS_BIN,
  type RunningPrometheus,
  startPrometheus,
  warnIfNoPrometheus,
} from '../deploy/prometheus-runner.js';
import { freePort, leakedCodes, type Stack, startStack, waitFor } from '../support/stack.js';

warnIfNoPrometheus('test/hardening/ministry-outage.test.ts');

const OUTAGE_5XX_MS = 65_000;
const OUTAGE_REFUSED_MS = 65_000;

/**
 * A TCP proxy to the sandbox that can stop listening (new connections are refused, open ones are cut):
 * what a Ministry host that is down looks like from the worker.
 */
class Outage {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  targetPort = 0;
  constructor(readonly port: number) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.#sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

interface Alert {
  labels: { alertname: string };
  state: 'pending' | 'firing';
}

describe.skipIf(!PROMETHEUS_BIN)('the Ministry down for minutes', () => {
  let stack: Stack;
  let worker: WorkerRuntime;
  let outage: Outage;
  let prometheus: RunningPrometheus | undefined;

  const prom = <T>(path: string): Promise<T> => prometheus!.api<T>(path);
  /** The value of a one-series query, or null when it returns nothing. */
  const value = async (q: string): Promise<number | null> => {
    const { result } = await prom<{ result: { value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(q)}`,
    );
    return result.length === 0 ? null : Number(result[0]!.value[1]);
  };
  const alerts = async () => (await prom<{ alerts: Alert[] }>('/api/v1/alerts')).alerts;
  const alertState = async (name: string) =>
    (await alerts()).find((a) => a.labels.alertname === name)?.state ?? 'inactive';

  beforeAll(async () => {
    outage = new Outage(await freePort());
    stack = await startStack('ministry-outage', {
      env: {
        LOG_LEVEL: 'info',
        HES_BASE_URL: `http://127.0.0.1:${outage.port}/services/g2g/test/saglik/hes/`,
        HES_RATE_LIMIT_RPS: '50',
        HES_REQUEST_TIMEOUT_MS: '3000',
        // Retry budget ≫ outage: up to 60 attempts, backoff capped at 40 s with equal jitter (at least
        // ≈ 19 min before the 60th attempt; the outage is 130 s).
        HES_MAX_ATTEMPTS: '60',
        HES_BACKOFF_BASE_MS: '1000',
        HES_BACKOFF_MAX_MS: '40000',
        WORKER_CONCURRENCY: '8',
      },
    });
    outage.targetPort = (stack.sandbox.server.address() as { port: number }).port;
    await outage.up();
    worker = await stack.startWorker();
    const workerUrl = await stack.serveWorkerMetrics(worker);
    const apiUrl = await stack.listen();

    // The production rules with every `for:` shortened to 15 s: HesUpstreamErrorRatioHigh's 10 minutes
    // would outlast the test. The expressions stay exactly the production ones (checked below). Alerts
    // whose expression itself needs more than the test can give are not asserted: HesNoCompletionsWhilePending
    // counts 15 one-minute steps of pending work, HesBacklogGrowing compares with 15 minutes ago,
    // HesOldestPendingCheckTooOld needs a check untouched for 10 minutes (each retry touches it).
    const production = readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8');
    const shortened = production.replace(/^(\s+)for: \S+$/gm, '$1for: 15s');
    const prodRules = parseAlertRules(production);
    const testRules = parseAlertRules(shortened);
    expect(testRules.map((r) => [r.alert, r.expr])).toEqual(prodRules.map((r) => [r.alert, r.expr]));
    expect(testRules.every((r) => r.for === '15s')).toBe(true);
    prometheus = await startPrometheus({ rules: shortened, apiUrl, workerUrl });
    await waitFor(async () => (await value('count(up == 1)')) === 2, {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'Prometheus scrapes the API and the worker',
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\nprometheus log:\n${prometheus!.log()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await outage?.down();
    await stack?.close();
  }, 60_000);

  it('builds a backlog that fails nothing, shows in metrics and alerts, and drains after recovery', async () => {
    const codes = generateSandboxCodes('RISKLESS', 600, 4242);
    let next = 0;
    const take = (n: number) => {
      const slice = codes.slice(next, next + n);
      next += n;
      return slice;
    };
    const post = async (path: string, body: unknown) => {
      const res = await stack.api.inject({
        method: 'POST',
        url: path,
        headers: { ...stack.headers, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      expect(res.statusCode, res.body).toBe(202);
      return res.json() as { id: string; total?: number };
    };
    const failedNow = () => stack.db.prisma.check.count({ where: { status: 'failed' } });
    const pendingNow = () =>
      stack.db.prisma.check.count({ where: { status: { in: ['queued', 'processing'] } } });

    // --- The Ministry answers 5xx to everything.
    stack.sandbox.sandbox.faults.update({ errorRate: 1 });
    const outageStart = Date.now();
    const singles: string[] = [];
    const batches: string[] = [];
    const submit = async () => {
      for (const kind of ['standard', 'employee', 'plus'] as const)
        singles.push((await post('/v1/checks', { hesCode: take(1)[0], kind, identityLast3: '123' })).id);
      singles.push((await post('/v1/checks?wait=1000', { hesCode: take(1)[0] })).id);
      batches.push(
        (await post('/v1/batches', { kind: 'standard', items: take(40).map((hesCode) => ({ hesCode })) })).id,
      );
    };
    await submit();

    let sawPending = false;
    await waitFor(
      async () => {
        const state = await alertState('HesUpstreamErrorRatioHigh');
        sawPending ||= state === 'pending';
        return state === 'firing';
      },
      {
        timeoutMs: OUTAGE_5XX_MS,
        intervalMs: 500,
        message: 'HesUpstreamErrorRatioHigh fires during the 5xx outage',
      },
    );
    expect(sawPending).toBe(true);
    expect(await value('sum(hes_worker_upstream_requests_total{result="transient"})')).toBeGreaterThan(0);
    const remaining5xx = OUTAGE_5XX_MS - (Date.now() - outageStart);
    if (remaining5xx > 0) await new Promise((r) => setTimeout(r, remaining5xx));
    expect(await failedNow()).toBe(0);

    // --- Then the host refuses connections altogether; more work arrives meanwhile.
    stack.sandbox.sandbox.faults.update({ errorRate: 0 });
    await outage.down();
    const refusedStart = Date.now();
    const transientBefore =
      (await value('sum(hes_worker_upstream_requests_total{result="transient"})')) ??
      Number.POSITIVE_INFINITY;
    await submit();
    let sawDelayed = false;
    let sawPendingAge = false;
    while (Date.now() - refusedStart < OUTAGE_REFUSED_MS) {
      sawDelayed ||= ((await value('max(hes_worker_queue_jobs{state="delayed"})')) ?? 0) > 0;
      sawPendingAge ||= ((await value('max(hes_worker_oldest_pending_check_age_seconds)')) ?? 0) > 5;
      expect(await alertState('HesUpstreamErrorRatioHigh')).toBe('firing');
      expect(await alertState('HesChecksFailing')).toBe('inactive');
      expect(await alertState('HesApiErrorRatioHigh')).toBe('inactive');
      await new Promise((r) => setTimeout(r, 2_000));
    }
    expect(sawDelayed).toBe(true);
    expect(sawPendingAge).toBe(true);
    expect(await value('sum(hes_worker_retries_total)')).toBeGreaterThan(0);
    const transientAfter = await value('sum(hes_worker_upstream_requests_total{result="transient"})');
    expect(transientAfter).toBeGreaterThan(transientBefore); // connection refused counts as transient too
    expect(Date.now() - outageStart).toBeGreaterThanOrEqual(120_000);
    // The backlog: every check submitted during the outage is still pending, none failed.
    const submitted = singles.length + batches.length * 40;
    expect(await pendingNow()).toBe(submitted);
    expect(await failedNow()).toBe(0);

    // --- Recovery: everything completes, nothing failed.
    await outage.up();
    await waitFor(async () => (await pendingNow()) === 0, {
      timeoutMs: 90_000,
      intervalMs: 500,
      message: 'the backlog drains after the Ministry returns',
    });
    expect(await failedNow()).toBe(0);
    const rows = await stack.db.prisma.check.findMany({
      where: { OR: [{ id: { in: singles } }, { batchId: { in: batches } }] },
      select: { status: true, outcome: true, attempts: true },
    });
    expect(rows.length).toBe(submitted);
    expect(rows.every((r) => r.status === 'completed' && r.outcome === 'RISKLESS')).toBe(true);
    expect(rows.every((r) => r.attempts > 1)).toBe(true);
    await waitFor(async () => (await value('max(hes_worker_oldest_pending_check_age_seconds)')) === 0, {
      timeoutMs: 15_000,
      message: 'the oldest-pending gauge returns to 0',
    });

    // The error ratio is over 5 minutes: it falls below 20 % once successful calls outnumber the
    // outage's errors four to one. Normal traffic supplies them (an employee roster: one call per code).
    const errors = (await value('sum(hes_worker_upstream_requests_total{result="transient"})')) ?? 0;
    const wash = Math.min(codes.length - next, Math.ceil(errors * 4.5) + 20);
    expect(wash, `${errors} upstream errors need more codes than the test holds`).toBeGreaterThan(errors * 4);
    const washBatch = await post('/v1/batches', {
      kind: 'employee',
      items: take(wash).map((hesCode) => ({ hesCode })),
    });
    await waitFor(async () => (await pendingNow()) === 0, {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: 'the employee roster completes',
    });
    await waitFor(async () => (await alertState('HesUpstreamErrorRatioHigh')) === 'inactive', {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: 'HesUpstreamErrorRatioHigh resolves after recovery',
    });
    expect(await alertState('HesChecksFailing')).toBe('inactive');
    expect(await stack.db.prisma.check.count({ where: { batchId: washBatch.id, status: 'completed' } })).toBe(
      wash,
    );
    expect(await failedNow()).toBe(0);
    expect(leakedCodes(codes.slice(0, next), stack.logs)).toEqual([]);
  }, 420_000);
});

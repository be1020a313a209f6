/**
 * §3 Single checks with `?wait=`: checks at 50 concurrent clients over real HTTP (API listening on a
 * port, one worker process), minus the sandbox's own latency measured by calling it directly with the
 * same client count in the same run. The limiter is set high (10 000 rps) so it is not what we measure;
 * the worker runs WORKER_CONCURRENCY=64 so 50 waiting clients are not queued behind 16 job slots.
 */
import { HesClient } from '@hes/client';
import { request } from 'undici';
import { promMeanBetween } from '../lib/prom.js';
import { rosterCodes } from '../lib/roster.js';
import { cpuSeconds, cpuSecondsOf } from '../lib/rss.js';
import type { Scenario } from '../lib/scenario.js';
import { startBenchStack } from '../lib/stack.js';
import { round, runConcurrent, summarize } from '../lib/stats.js';

const CONCURRENCY = 50;

export const wait: Scenario = {
  name: 'wait',
  title: 'Single checks with ?wait= (overhead over the sandbox)',
  async run({ quick, rec }) {
    const total = quick ? 1_000 : 2_000;
    const warm = 200;
    const stack = await startBenchStack('wait', {
      faults: { latencyMs: 40, latencyJitterMs: 20 },
      env: { HES_RATE_LIMIT_RPS: '10000', WORKER_CONCURRENCY: '64' },
    });
    const direct = new HesClient({
      baseUrl: stack.hesBaseUrl,
      username: stack.username,
      password: stack.password,
      connections: CONCURRENCY,
    });
    try {
      const api = await stack.startApi();
      const worker = await stack.startWorker();
      // One client at a time afterwards: what a lone turnstile sees when nothing else is running.
      const alone = quick ? 100 : 200;
      const codes = rosterCodes(total * 2 + warm * 2 + alone * 2, 31);
      let statuses: Record<number, number> = {};
      const viaApi = async (code: string) => {
        const res = await request(`${api.url}/v1/checks?wait=5000`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ hesCode: code }),
        });
        await res.body.dump();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      };
      /** API INSERT → worker result of the last `n` checks, on PostgreSQL's clock. */
      const storedToFinal = async (n: number) => {
        const { rows } = await stack.pool.query<{ ms: number }>(
          `SELECT EXTRACT(EPOCH FROM completed_at - created_at)::float8 * 1000 AS ms FROM checks
            ORDER BY created_at DESC LIMIT $1`,
          [n],
        );
        return summarize(rows.map((r) => r.ms));
      };
      /** The worker's means between two scrapes of its metrics. */
      const workerMeans = (before: string, after: string) => ({
        queueWaitMs: round(promMeanBetween(before, after, 'hes_worker_job_queue_wait_seconds') * 1000, 2),
        upstreamMs: round(
          promMeanBetween(before, after, 'hes_worker_upstream_request_duration_seconds') * 1000,
          2,
        ),
        codesPerCall: round(promMeanBetween(before, after, 'hes_worker_upstream_codes_per_call'), 2),
      });
      // Warm-up both paths (connections, JIT, prepared plans).
      await runConcurrent(warm, CONCURRENCY, (i) => direct.checkHesCode(codes[i]!).then(() => {}));
      await runConcurrent(warm, CONCURRENCY, (i) => viaApi(codes[warm + i]!));
      statuses = {};
      const base = 2 * warm;
      const sandbox = await runConcurrent(total, CONCURRENCY, (i) =>
        direct.checkHesCode(codes[base + i]!).then(() => {}),
      );
      const metrics0 = await worker.metrics();
      const cpu0 = {
        api: cpuSeconds(api.pid),
        worker: cpuSeconds(worker.pid),
        pg: cpuSecondsOf('postgres'),
        redis: cpuSecondsOf('redis-server'),
        self: process.cpuUsage(),
      };
      const gateway = await runConcurrent(total, CONCURRENCY, (i) => viaApi(codes[base + total + i]!));
      const self = process.cpuUsage(cpu0.self);
      const perCheck = (seconds: number) => round((seconds * 1000) / total, 3);
      // Where a check's CPU goes (the box is saturated at 50 clients: this, not latency, is what moves).
      const cpuPerCheck = {
        apiMs: perCheck(cpuSeconds(api.pid) - cpu0.api),
        workerMs: perCheck(cpuSeconds(worker.pid) - cpu0.worker),
        postgresMs: perCheck(cpuSecondsOf('postgres') - cpu0.pg),
        redisMs: perCheck(cpuSecondsOf('redis-server') - cpu0.redis),
        benchMs: perCheck((self.user + self.system) / 1e6),
      };
      const s = summarize(sandbox.latencies);
      const g = summarize(gateway.latencies);
      rec.figure(
        'p50 overhead (gateway p50 − sandbox p50)',
        g.p50 - s.p50,
        'ms',
        { op: '<=', value: 5 },
        `${round(g.p50)} − ${round(s.p50)}`,
      );
      rec.figure(
        'p99 overhead (gateway p99 − sandbox p99)',
        g.p99 - s.p99,
        'ms',
        { op: '<=', value: 25 },
        `${round(g.p99)} − ${round(s.p99)}`,
      );
      rec.figure(
        'gateway throughput with wait',
        total / (gateway.elapsedMs / 1000),
        'checks/s',
        undefined,
        `${statuses[200] ?? 0} × 200, ${statuses[202] ?? 0} × 202`,
      );
      // Where the worker's share of that time goes (means over the measured checks).
      const inWorker = workerMeans(metrics0, await worker.metrics());
      // Inside the gateway: from the API's INSERT to the worker's final write.
      const stored = await storedToFinal(total);
      rec.figure(
        'p50 stored → final (API INSERT to worker result, sandbox included)',
        stored.p50,
        'ms',
        undefined,
        `p99 ${round(stored.p99)} ms; mean queue wait ${inWorker.queueWaitMs} ms, upstream ${inWorker.upstreamMs} ms, ${inWorker.codesPerCall} codes per call`,
      );
      const cpuTotal = Object.values(cpuPerCheck).reduce((a, b) => a + b, 0);
      rec.figure(
        'CPU per check, all processes (sandbox and clients included)',
        cpuTotal,
        'ms',
        undefined,
        `API ${cpuPerCheck.apiMs}, worker ${cpuPerCheck.workerMs}, PostgreSQL ${cpuPerCheck.postgresMs}, Redis ${cpuPerCheck.redisMs}, bench ${cpuPerCheck.benchMs}`,
      );
      // The answers at 50 clients, before the one-at-a-time run counts its own.
      const atFifty = { ...statuses };
      const aloneBase = base + 2 * total;
      const sandboxAlone = summarize(
        (await runConcurrent(alone, 1, (i) => direct.checkHesCode(codes[aloneBase + i]!).then(() => {})))
          .latencies,
      );
      const metricsAlone0 = await worker.metrics();
      const gatewayAlone = summarize(
        (await runConcurrent(alone, 1, (i) => viaApi(codes[aloneBase + alone + i]!))).latencies,
      );
      const inWorkerAlone = workerMeans(metricsAlone0, await worker.metrics());
      const storedAlone = await storedToFinal(alone);
      rec.figure(
        'p50 overhead at 1 client (one check at a time)',
        gatewayAlone.p50 - sandboxAlone.p50,
        'ms',
        undefined,
        `${round(gatewayAlone.p50)} − ${round(sandboxAlone.p50)}; p99 ${round(gatewayAlone.p99)} − ${round(sandboxAlone.p99)}; stored → final p50 ${round(storedAlone.p50)} ms, mean queue wait ${inWorkerAlone.queueWaitMs} ms, upstream ${inWorkerAlone.upstreamMs} ms`,
      );
      rec.detail('alone', {
        total: alone,
        sandbox: sandboxAlone,
        gateway: gatewayAlone,
        stored: storedAlone,
        worker: inWorkerAlone,
      });
      rec.detail('latency', {
        total,
        concurrency: CONCURRENCY,
        sandbox: s,
        gateway: g,
        stored,
        worker: inWorker,
        statuses: atFifty,
        cpuPerCheck,
      });
    } finally {
      await direct.close();
      await stack.close();
    }
  },
};

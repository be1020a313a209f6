/**
 * §4 Intake: autocannon on POST /v1/checks (64 keep-alive connections, a real API key, no worker: the
 * jobs only queue), against a bare Fastify route with the same schemas and no I/O, in the same run.
 */
import { hammer, type LoadResult } from '../lib/load.js';
import type { Recorder } from '../lib/report.js';
import { cpuSeconds, cpuSecondsOf } from '../lib/rss.js';
import type { Scenario } from '../lib/scenario.js';
import { type BenchStack, spawnTs, startBenchStack } from '../lib/stack.js';
import { round } from '../lib/stats.js';

export const CHECK_BODY = JSON.stringify({ hesCode: 'A1B2-C3D4-E5', kind: 'standard', reference: 'gate-7' });

/** CPU milliseconds per accepted request of each process involved (measured run only). */
export interface IntakeCpu {
  apiMs: number;
  postgresMs: number;
  redisMs: number;
  loadGeneratorMs: number;
}

/**
 * Warm-up, then the measured autocannon run against the API's POST /v1/checks; with `apiPid`, also the
 * CPU each process spent per request (where the time goes on a shared 2-core box).
 */
export async function measureIntake(
  stack: BenchStack,
  apiUrl: string,
  seconds: number,
  apiPid?: number,
): Promise<LoadResult & { cpu?: IntakeCpu }> {
  const opts = {
    url: `${apiUrl}/v1/checks`,
    body: CHECK_BODY,
    headers: { authorization: `Bearer ${stack.key}` },
    connections: 64,
  };
  await hammer({ ...opts, durationSeconds: 3 });
  const before = {
    api: apiPid ? cpuSeconds(apiPid) : 0,
    pg: cpuSecondsOf('postgres'),
    redis: cpuSecondsOf('redis-server'),
    self: process.cpuUsage(),
  };
  const r = await hammer({ ...opts, durationSeconds: seconds });
  if (!apiPid) return r;
  const self = process.cpuUsage(before.self);
  const per = (s: number) => (s * 1000) / Math.max(1, r.rps * seconds);
  return {
    ...r,
    cpu: {
      apiMs: per(cpuSeconds(apiPid) - before.api),
      postgresMs: per(cpuSecondsOf('postgres') - before.pg),
      redisMs: per(cpuSecondsOf('redis-server') - before.redis),
      loadGeneratorMs: per((self.user + self.system) / 1e6),
    },
  };
}

export function recordLoad(rec: Recorder, label: string, r: LoadResult, targets: boolean, note?: string) {
  const errors = r.non2xx + r.errors > 0 ? `${r.non2xx} non-2xx, ${r.errors} errors` : undefined;
  rec.figure(
    `${label} throughput`,
    r.rps,
    'req/s',
    targets ? { op: '>=', value: 3000 } : undefined,
    [note, errors].filter(Boolean).join('; ') || undefined,
  );
  rec.figure(
    `${label} p99 latency`,
    r.p99,
    'ms',
    targets ? { op: '<=', value: 50 } : undefined,
    `p50 ${round(r.p50)} ms`,
  );
}

export const intake: Scenario = {
  name: 'intake',
  title: 'Intake (POST /v1/checks, 64 connections)',
  async run({ quick, rec, shared }) {
    const seconds = quick ? 10 : 20;
    const stack = await startBenchStack('intake');
    try {
      const api = await stack.startApi();
      const r = await measureIntake(stack, api.url, seconds, api.pid);
      if (r.cpu) rec.detail('cpuPerRequest', r.cpu);
      recordLoad(rec, 'POST /v1/checks', r, true);
      await api.stop();
      shared.intakeRps = r.rps;

      const bare = spawnTs('bare', 'bench/lib/bare-server.ts', {});
      const port = await new Promise<number>((resolve, reject) => {
        bare.lines.on('line', (l) => {
          const m = /^listening (\d+)/.exec(l);
          if (m) resolve(Number(m[1]));
        });
        bare.child.once('exit', () => reject(new Error(`bare server exited: ${bare.tail.join('\n')}`)));
      });
      try {
        const opts = {
          url: `http://127.0.0.1:${port}/v1/checks`,
          body: CHECK_BODY,
          headers: {},
          connections: 64,
        };
        await hammer({ ...opts, durationSeconds: 3 });
        const b = await hammer({ ...opts, durationSeconds: seconds });
        recordLoad(rec, 'bare Fastify route (same schemas, no I/O)', b, false);
        rec.figure('gateway ÷ bare route throughput', r.rps / b.rps, '×');
        rec.detail('load', { seconds, gateway: r, bare: b });
      } finally {
        await bare.stop();
      }
    } finally {
      await stack.close();
    }
  },
};

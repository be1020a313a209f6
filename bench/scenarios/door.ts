/**
 * A door during a roster (ours, not issue 5's): while a 50 000-code roster flows at 20 rps (5 s of
 * upstream work queued ahead), a turnstile submits one check at a time with `?wait=10000`. Roster jobs
 * carry a BullMQ priority and single checks none, so each single is taken as soon as a worker slot
 * frees up, then waits for its rate-limit slot behind the requests the busy jobs already reserved;
 * first in, first out it would wait for the whole roster.
 */
import { request } from 'undici';
import { postBatch } from '../lib/api.js';
import { rosterCodes, rosterJson } from '../lib/roster.js';
import type { Scenario } from '../lib/scenario.js';
import { startBenchStack } from '../lib/stack.js';
import { now, round, summarize } from '../lib/stats.js';

const RPS = 20;

export const door: Scenario = {
  name: 'door',
  title: 'A single check with ?wait= while a roster flows (20 rps, 40 ± 20 ms)',
  async run({ quick, rec }) {
    const size = quick ? 20_000 : 50_000;
    const singles = 10;
    const stack = await startBenchStack('door', {
      faults: { latencyMs: 40, latencyJitterMs: 20, rateLimitRps: RPS },
      env: { HES_RATE_LIMIT_RPS: String(RPS) },
    });
    try {
      const api = await stack.startApi();
      await stack.startWorker();
      const codes = rosterCodes(size + singles, 71);
      const batch = await postBatch(api.url, stack.key, rosterJson(codes.slice(0, size)), 'json');
      const rosterStart = now();
      // Let the roster's jobs fill every worker slot first.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const latencies: number[] = [];
      const statuses: Record<number, number> = {};
      const queuedAhead: number[] = [];
      for (let i = 0; i < singles; i++) {
        const { rows } = await stack.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM checks WHERE batch_id = $1 AND status IN ('queued', 'processing')`,
          [batch.id],
        );
        queuedAhead.push(Number(rows[0]!.n));
        const t0 = now();
        const res = await request(`${api.url}/v1/checks?wait=10000`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ hesCode: codes[size + i] }),
        });
        await res.body.dump();
        latencies.push(now() - t0);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const done = await stack.waitForBatch(batch.id, 300_000);
      const l = summarize(latencies);
      const ahead = Math.min(...queuedAhead);
      rec.figure(
        'single check answered during the roster: median',
        l.p50,
        'ms',
        undefined,
        `${singles} checks one after another; ${statuses[200] ?? 0} × 200, ${statuses[202] ?? 0} × 202`,
      );
      rec.figure(
        'single check answered during the roster: slowest',
        l.max,
        'ms',
        undefined,
        `at least ${ahead} roster codes (${round(ahead / (RPS * 500), 1)} s at the limit) were still queued each time`,
      );
      rec.detail('door', {
        size,
        latencies,
        statuses,
        queuedAhead,
        rosterSeconds: (done - rosterStart) / 1000,
      });
    } finally {
      await stack.close();
    }
  },
};

/**
 * §5 Roster intake: time from sending a 100 000-item batch (JSON, then CSV) to its 202, API process
 * alone (no worker). Median of three submissions each (one in quick mode), after a small warm-up.
 */
import { postBatch } from '../lib/api.js';
import { rosterCodes, rosterCsv, rosterJson } from '../lib/roster.js';
import { cpuSeconds, cpuSecondsOf, RssSampler } from '../lib/rss.js';
import type { Scenario } from '../lib/scenario.js';
import { startBenchStack } from '../lib/stack.js';
import { median, round } from '../lib/stats.js';

export const roster: Scenario = {
  name: 'roster',
  title: 'Roster intake (100 000 items to 202)',
  async run({ quick, rec }) {
    const size = 100_000;
    const reps = quick ? 1 : 3;
    const stack = await startBenchStack('roster');
    try {
      const api = await stack.startApi();
      const codes = rosterCodes(size, 41);
      const bodies = { json: rosterJson(codes), csv: rosterCsv(codes) };
      await postBatch(api.url, stack.key, rosterJson(codes.slice(0, 2_000)), 'json');
      await postBatch(api.url, stack.key, rosterCsv(codes.slice(0, 2_000)), 'csv');
      const rss = new RssSampler(api.pid).start();
      for (const format of ['json', 'csv'] as const) {
        const times: number[] = [];
        const cpu0 = { api: cpuSeconds(api.pid), pg: cpuSecondsOf('postgres') };
        for (let i = 0; i < reps; i++)
          times.push((await postBatch(api.url, stack.key, bodies[format], format)).ms);
        // Where a submission's time goes: the API (parse, encrypt, HMAC, serialise) and PostgreSQL.
        const cpu = {
          apiSeconds: round((cpuSeconds(api.pid) - cpu0.api) / reps, 2),
          postgresSeconds: round((cpuSecondsOf('postgres') - cpu0.pg) / reps, 2),
        };
        rec.figure(
          `${format.toUpperCase()} roster of 100 000 → 202`,
          median(times) / 1000,
          's',
          { op: '<=', value: 3 },
          `${format === 'json' ? 'JSON' : 'CSV'} ${round(Buffer.byteLength(bodies[format]) / 1048576, 1)} MiB; runs ${times.map((t) => round(t / 1000, 2)).join(', ')} s; CPU per run: API ${cpu.apiSeconds} s, PostgreSQL ${cpu.postgresSeconds} s`,
        );
        rec.detail(format, { times, bytes: Buffer.byteLength(bodies[format]), cpu });
      }
      rec.detail('apiRss', rss.stop());
    } finally {
      await stack.close();
    }
  },
};

/**
 * §2 Naive baseline: one `check-hes-code` call per code, in sequence, with the plain client against the
 * same sandbox latency (40 ± 20 ms), for a sample; extrapolated to the roster and compared with the
 * pipeline's rate from the same run.
 */
import { HesClient } from '@hes/client';
import { buildSandboxApp } from '@hes/sandbox';
import { rosterCodes } from '../lib/roster.js';
import type { Scenario } from '../lib/scenario.js';
import { now, round } from '../lib/stats.js';

export const naive: Scenario = {
  name: 'naive',
  title: 'Naive baseline (one call per code, sequential)',
  async run({ quick, rec, shared }) {
    const sample = quick ? 100 : 300;
    const sandbox = buildSandboxApp({
      username: 'u',
      password: 'p',
      faults: { latencyMs: 40, latencyJitterMs: 20 },
    });
    await sandbox.listen({ port: 0, host: '127.0.0.1' });
    const port = (sandbox.server.address() as { port: number }).port;
    const client = new HesClient({
      baseUrl: `http://127.0.0.1:${port}/services/g2g/test/saglik/hes/`,
      username: 'u',
      password: 'p',
    });
    try {
      const codes = rosterCodes(sample, 23);
      await client.checkHesCode(codes[0]!); // connection warm-up
      const t0 = now();
      for (const code of codes) await client.checkHesCode(code);
      const seconds = (now() - t0) / 1000;
      const rate = sample / seconds;
      rec.figure('naive rate', rate, 'codes/s', undefined, `${sample} codes in ${round(seconds, 2)} s`);
      rec.figure('naive, 100 000 codes (extrapolated)', 100_000 / rate / 60, 'min');
      const pipelineRate = shared.pipelineCodesPerSecond;
      if (pipelineRate !== undefined) {
        rec.figure('speed-up of the pipeline over naive', pipelineRate / rate, '×', { op: '>=', value: 100 });
      } else {
        rec.figure(
          'speed-up of the 0.95 × ceiling over naive',
          (0.95 * 10_000) / rate,
          '×',
          { op: '>=', value: 100 },
          'pipeline not run',
        );
      }
      rec.detail('sample', { sample, seconds, rate, pipelineRate });
    } finally {
      await client.close();
      await sandbox.close();
    }
  },
};

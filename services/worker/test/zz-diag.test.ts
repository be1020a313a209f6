import { waitFor } from '@hes/core/testing';
import { HesClient } from '@hes/client';
import { afterAll, beforeAll, it } from 'vitest';
import { generateSandboxCodes } from '../../hes-sandbox/src/app.js';
import { Harness, SANDBOX_PASSWORD, SANDBOX_USERNAME } from './harness.js';

let h: Harness;
beforeAll(async () => { h = await Harness.start('diag'); });
afterAll(async () => { await h?.close(); });

function maxInWindow(times: number[], ms = 1000): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0; let lo = 0;
  for (let hi = 0; hi < t.length; hi++) { while (t[hi]! - t[lo]! >= ms) lo++; best = Math.max(best, hi - lo + 1); }
  return best;
}

it('diag', async () => {
  const sends: number[] = [];
  const arrivals: number[] = [];
  h.sandbox.server.prependListener('request', () => { arrivals.push(performance.now()); });
  const mk = () => {
    const client = new HesClient({ baseUrl: h.baseUrl, username: SANDBOX_USERNAME, password: SANDBOX_PASSWORD });
    return new Proxy(client, { get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v === 'function' && String(prop).startsWith('check')) return (...args: unknown[]) => { sends.push(performance.now()); return v.apply(target, args); };
      return typeof v === 'function' ? v.bind(target) : v;
    } });
  };
  const env = { HES_RATE_LIMIT_RPS: '10', WORKER_CONCURRENCY: '8', HES_RATE_LIMIT_MARGIN_MS: process.env.MARGIN ?? '20' };
  const rts = await Promise.all([h.startWorker(env, { api: mk() }), h.startWorker(env, { api: mk() })]);
  const codes = generateSandboxCodes('RISKLESS', 60, 7);
  const inserted = await h.insertChecks({ kind: 'employee', codes });
  const t0 = performance.now();
  await h.enqueue(inserted.plans);
  await waitFor(async () => (await h.countPending(inserted.ids)) === 0, { timeoutMs: 20_000 });
  const gaps = (xs: number[]) => xs.slice(1).map((x, i) => Math.round(x - xs[i]!));
  console.log('sends  peak', maxInWindow(sends), 'gaps', gaps(sends).join(' '));
  console.log('arrive peak', maxInWindow(arrivals), 'gaps', gaps(arrivals).join(' '));
  console.log('lag', sends.map((s, i) => Math.round((arrivals[i] ?? 0) - s)).join(' '));
  for (const rt of rts) console.log('late', (await rt.metrics.lateSlots.get()).values[0]?.value);
  console.log('elapsed', Math.round(performance.now() - t0));
}, 60_000);

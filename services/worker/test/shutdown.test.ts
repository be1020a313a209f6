import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@hes/core/testing';
import { generateSandboxCodes } from '@hes/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start('worker-shutdown');
});
afterAll(async () => {
  await h?.close();
});

const completedCount = (ids: readonly string[]) =>
  h.db.prisma.check.count({ where: { id: { in: [...ids] }, status: 'completed' } });

describe('graceful shutdown', () => {
  it('returns waiting jobs to the queue, finishes requests in flight, and loses nothing', async () => {
    const env = { HES_RATE_LIMIT_RPS: '5', WORKER_CONCURRENCY: '4' };
    const first = await h.startWorker(env);
    h.sandbox.sandbox.faults.update({ latencyMs: 150 });
    h.sandbox.sandbox.stats.reset();
    const inserted = await h.insertAndEnqueue({
      kind: 'employee',
      codes: generateSandboxCodes('RISKY', 15, 3),
    });
    await waitFor(async () => (await completedCount(inserted.ids)) >= 3, { message: 'some progress' });

    const closing = performance.now();
    await first.close();
    const closeMs = performance.now() - closing;
    // Slots are 200 ms apart and answers take 150 ms: nothing is waited out but the last answer.
    expect(closeMs).toBeLessThan(2_000);
    const rows = await h.checks(inserted.ids);
    expect(rows.filter((r) => r.status === 'failed')).toHaveLength(0);
    const pending = rows.filter((r) => r.status === 'queued' || r.status === 'processing');
    expect(pending.length).toBeGreaterThan(0);
    for (const r of pending) expect(['waiting', 'delayed']).toContain(await h.queue.getJobState(r.jobId!));
    const sentBeforeRestart = h.stats().totalRequests;
    expect(sentBeforeRestart).toBe(15 - pending.length);

    h.sandbox.sandbox.faults.update({ latencyMs: 0 });
    await h.startWorker(env);
    await waitFor(async () => (await completedCount(inserted.ids)) === 15, { timeoutMs: 15_000 });
    // Every code went upstream exactly once across both worker lifetimes.
    expect(h.stats().totalRequests).toBe(15);
  });
});

describe('the worker process (main.ts)', () => {
  let child: ChildProcess | null = null;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('serves /healthz and /metrics, processes checks, and exits 0 on SIGTERM', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const lines: string[] = [];
    child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', main], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: { ...process.env, ...h.env, WORKER_METRICS_PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
    const started = await waitFor(
      () => lines.map((l) => safeJson(l)).find((l) => l?.msg === 'worker started'),
      { timeoutMs: 20_000, message: `the worker to start (${lines.join('\n')})` },
    );
    const base = `http://127.0.0.1:${started.metricsPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('hes_worker_rate_limit_rps 500');
    expect(metrics).toContain('hes_worker_queue_jobs');

    const inserted = await h.insertAndEnqueue({
      kind: 'standard',
      codes: generateSandboxCodes('RISKLESS', 3, 9),
    });
    await waitFor(async () => (await completedCount(inserted.ids)) === 3, { timeoutMs: 15_000 });

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(lines.some((l) => safeJson(l)?.msg === 'worker stopped')).toBe(true);
    child = null;
  }, 45_000);
});

function safeJson(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

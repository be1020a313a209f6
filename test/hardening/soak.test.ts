/**
 * Issue 6 §1, short: the soak of `pnpm soak` (bench/soak) on the same code path for 45 s of load instead
 * of 10 minutes — sandbox, API and two workers as child processes, mixed load, every fault phase, a
 * worker replaced every ~11 s (SIGTERM and SIGKILL in turn) — then the drain and the reconciliation.
 * Nothing acknowledged may be lost, no check may get a second result, no code may reach a log line,
 * the database or Redis. The report goes to a temporary directory, not bench/results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSoakReport } from '../../bench/soak/report.js';
import { runSoak, soakOptions } from '../../bench/soak/soak.js';

describe('soak (short)', () => {
  it('loses nothing acknowledged through faults and worker restarts, writes each result once, leaks no code', async () => {
    const options = { ...soakOptions(45_000, 2), label: 'soak-test', log: () => {} };
    const result = await runSoak(options);
    const dir = mkdtempSync(join(tmpdir(), 'hes-soak-test-'));
    try {
      writeSoakReport(result, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const a = result.accounting;
    const summary = JSON.stringify({ accounting: a, problems: result.problems, drain: result.drain });

    // The run really exercised what it claims to.
    expect(a.accepted, summary).toBeGreaterThan(100);
    expect(a.rosters).toBeGreaterThanOrEqual(2);
    expect(result.phases.map((p) => p.name)).toEqual(
      expect.arrayContaining(['5xx 30%', '429 (quota 2 rps)', 'resets 25%', 'slow 25% + latency']),
    );
    expect(result.restarts.map((r) => r.signal)).toEqual(expect.arrayContaining(['SIGTERM', 'SIGKILL']));
    expect(result.upstream.sandbox.serverErrors + result.upstream.sandbox.resets).toBeGreaterThan(0);
    expect(result.leaks.logLines).toBeGreaterThan(100);

    // Correctness, not speed.
    expect(result.drain.complete, summary).toBe(true);
    expect(a.lost, summary).toBe(0);
    expect(a.duplicates, summary).toBe(0);
    expect(a.rosterCountMismatches, summary).toBe(0);
    expect(a.rostersNotCompleted, summary).toBe(0);
    expect(a.finalWithCiphertext).toBe(0);
    expect(a.completed + a.failed).toBe(a.accepted);
    expect(result.leaks).toMatchObject({ logs: [], database: [], redis: [] });
    expect(result.upstream.workersTotal).toBeLessThanOrEqual(result.upstream.sandbox.totalRequests);
    expect(result.pass, summary).toBe(true);
  }, 300_000);
});

// A real Prometheus (Debian's `prometheus` package) scrapes the running API and worker while they process
// real traffic against the sandbox, with deploy/prometheus's job names and alert rules loaded. The series
// must carry the numbers the run really had, every rule must evaluate, and every dashboard query must be
// valid PromQL over the scraped data. Skipped, with the reason printed, where the binary is missing.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApiKey } from '@hes/core';
import { waitFor } from '@hes/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dashboardQueries,
  expandGrafanaVariables,
  metricNamesOf,
  PROMETHEUS_DIR,
  readAlertRules,
  readDashboard,
  readScrapeJobs,
} from './deploy-files.js';
import {
  PROMETHEUS_BIN,
  type RunningPrometheus,
  startPrometheus,
  warnIfNoPrometheus,
} from './prometheus-runner.js';
import { type Stack, startStack } from './stack.js';

warnIfNoPrometheus('test/deploy/prometheus-scrape.test.ts');

const ROSTER_SIZE = 600; // two bulk calls: 500 + 100 codes
const code = () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
};

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(!PROMETHEUS_BIN)('a real Prometheus scraping the API and the worker', () => {
  let stack: Stack;
  let prometheus: RunningPrometheus | undefined;
  const accepted = { single: 2, batch: ROSTER_SIZE };

  const api = <T>(path: string): Promise<T> => prometheus!.api<T>(path);
  const query = (q: string) =>
    api<{ resultType: string; result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`);
  const scalar = async (q: string): Promise<number> => {
    const { result } = await query(q);
    if (result.length !== 1) throw new Error(`${q}: ${result.length} series`);
    return Number(result[0]!.value[1]);
  };

  beforeAll(async () => {
    stack = await startStack('deploy-scrape');

    // Traffic: two single checks answered synchronously, and a roster of 600 codes plus one malformed row.
    const key = (
      await createApiKey(stack.db.prisma, { name: 'scrape', scopes: ['checks:read', 'checks:write'] })
    ).key;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    for (const kind of ['standard', 'employee']) {
      const res = await fetch(`${stack.apiUrl}/v1/checks?wait=10000`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ hesCode: code(), kind }),
      });
      expect(res.status).toBe(200);
    }
    const items = [
      ...Array.from({ length: ROSTER_SIZE }, () => ({ hesCode: code() })),
      { hesCode: 'not-a-code' },
    ];
    const batchRes = await fetch(`${stack.apiUrl}/v1/batches`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ kind: 'standard', items }),
    });
    expect(batchRes.status).toBe(202);
    const batch = (await batchRes.json()) as { id: string };
    await waitFor(
      async () => {
        const res = await fetch(`${stack.apiUrl}/v1/batches/${batch.id}`, { headers });
        return ((await res.json()) as { status: string }).status === 'completed';
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'the roster completes' },
    );

    // Prometheus with the repository's job names and rules, the targets on this test's ports.
    const jobs = readScrapeJobs();
    expect([...jobs.keys()]).toEqual(expect.arrayContaining(['hes-api', 'hes-worker']));
    prometheus = await startPrometheus({
      rules: readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8'),
      apiUrl: stack.apiUrl,
      workerUrl: stack.workerMetricsUrl,
    });
    // Both targets up, and enough scrapes for rate() over the run.
    await waitFor(
      async () => {
        const { result } = await query('count_over_time(up[1m]) >= 5 and up == 1');
        return result.length === 2;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: 'Prometheus scraped both targets five times' },
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\nprometheus log:\n${prometheus!.log()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await stack?.close();
  }, 30_000);

  it('has the checks the API accepted and the worker completed', async () => {
    expect(await scalar('sum by (source) (hes_api_checks_accepted_total{source="single"})')).toBe(
      accepted.single,
    );
    expect(await scalar('sum(hes_api_checks_accepted_total{source="batch"})')).toBe(accepted.batch);
    expect(await scalar('sum(hes_api_checks_rejected_total)')).toBe(1);
    const total = accepted.single + accepted.batch;
    const completed = await scalar('sum(hes_worker_checks_completed_total)');
    const failed = (await query('sum(hes_worker_checks_failed_total)')).result[0]?.value[1] ?? '0';
    expect(completed + Number(failed)).toBe(total);
    expect(await scalar('sum(hes_worker_check_latency_seconds_count)')).toBe(total);
    const byOutcome = (await query('sum by (outcome) (hes_worker_checks_completed_total)')).result;
    expect(byOutcome.map((s) => s.metric.outcome).sort()).toEqual(expect.arrayContaining(['RISKLESS']));
  });

  it('has the upstream calls the sandbox really answered', async () => {
    const stats = stack.sandbox.sandbox.stats.snapshot();
    expect(await scalar('sum(hes_worker_upstream_requests_total)')).toBe(stats.totalRequests);
    // Answered by the sandbox (authorised, not throttled): 200s, and 400s for unknown or expired codes.
    expect(await scalar('sum(hes_worker_upstream_requests_total{result=~"ok|business"})')).toBe(
      stats.acceptedRequests,
    );
    expect(await scalar('sum(hes_worker_upstream_codes_per_call_count)')).toBe(stats.totalRequests);
    expect(await scalar('sum(hes_worker_upstream_codes_per_call_sum)')).toBe(
      accepted.single + accepted.batch,
    );
    expect(await scalar('sum(hes_worker_upstream_requests_total{endpoint="check-hes-codes"})')).toBe(
      stats.bulk.calls,
    );
    expect(await scalar('max(hes_worker_rate_limit_rps)')).toBe(200);
    expect(await scalar('max(hes_worker_upstream_credentials_failing)')).toBe(0);
    expect(await scalar('max(hes_worker_queue_jobs{state="waiting"})')).toBe(0);
  });

  it('loads every alert rule of alerts.yml, evaluates it without error, and none fires on a healthy stack', async () => {
    const { groups } = await api<{
      groups: {
        rules: {
          type: string;
          name: string;
          query: string;
          health: string;
          lastError?: string;
          state?: string;
          labels: Record<string, string>;
          annotations: Record<string, string>;
        }[];
      }[];
    }>('/api/v1/rules');
    const loaded = groups.flatMap((g) => g.rules).filter((r) => r.type === 'alerting');
    await waitFor(
      async () => {
        const { groups: g } = await api<{ groups: { rules: { lastEvaluation: string }[] }[] }>(
          '/api/v1/rules',
        );
        return g.flatMap((x) => x.rules).every((r) => !r.lastEvaluation.startsWith('0001'));
      },
      { timeoutMs: 10_000, message: 'every rule evaluated once' },
    );
    const parsed = readAlertRules();
    expect(loaded.map((r) => r.name).sort()).toEqual(parsed.map((r) => r.alert).sort());
    for (const rule of parsed) {
      const live = loaded.find((r) => r.name === rule.alert)!;
      // What the deploy tests read from alerts.yml is what Prometheus loaded.
      expect(live.labels).toEqual(rule.labels);
      expect(live.annotations).toEqual(rule.annotations);
      expect(metricNamesOf(live.query).sort()).toEqual(metricNamesOf(rule.expr).sort());
    }
    const { groups: evaluated } = await api<{
      groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[];
    }>('/api/v1/rules');
    for (const r of evaluated.flatMap((g) => g.rules)) {
      expect({ rule: r.name, health: r.health, error: r.lastError ?? '' }).toEqual({
        rule: r.name,
        health: 'ok',
        error: '',
      });
      expect({ rule: r.name, state: r.state }).toEqual({ rule: r.name, state: 'inactive' });
    }
  });

  it('answers every query of the Grafana dashboard, with data for the panels this run exercised', async () => {
    const queries = dashboardQueries(readDashboard());
    const empty: string[] = [];
    for (const q of queries) {
      const expr = expandGrafanaVariables(q.expr);
      const data = await query(expr).catch((err: Error) => {
        throw new Error(`panel "${q.panel}": ${expr}: ${err.message}`);
      });
      if (data.result.length === 0) empty.push(`${q.panel}: ${q.expr}`);
    }
    // Only what this run cannot produce may be empty: failed checks, purges, enqueue failures,
    // transient/protocol upstream errors and webhook deliveries (no webhook is registered here) —
    // labelled series that appear with their first event.
    const mayBeEmpty = [
      'hes_worker_checks_failed_total',
      'hes_worker_retention_purged_total',
      'hes_api_enqueue_failures_total',
      'result=~"transient|protocol"',
      'hes_webhook_deliveries_total',
      'hes_webhook_delivery_duration_seconds',
    ];
    const unexpected = empty.filter((e) => !mayBeEmpty.some((m) => e.includes(m)));
    expect(unexpected).toEqual([]);
  });
});

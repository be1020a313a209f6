// The dashboard and the alert rules may only use metrics (and labels) that the code really exports. The
// exported set is read from the running code: the API app's GET /metrics and the worker runtime's metrics
// server, each built against this file's own database and Redis, plus their registries for label names.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlertRule,
  allPanels,
  type DashboardQuery,
  DEPLOY,
  dashboardLabelValues,
  dashboardQueries,
  type Family,
  familiesInExposition,
  familyOf,
  metricNamesOf,
  parseAlertRules,
  ROOT,
  read,
  readAlertRules,
  readDashboard,
  readScrapeJobs,
  SYNTHETIC,
  scanPromQL,
  TARGET_LABELS,
} from './deploy-files.js';
import { type Stack, startStack } from './stack.js';

type Service = 'hes-api' | 'hes-worker';
/** Exported families per scrape job, as the exposition announces them, with the registry's label names. */
const exported = new Map<Service, Map<string, Family>>();
let stack: Stack;

/** The part of a prom-client Registry used here (prom-client is not a dependency of the root package). */
interface RegistryLike {
  getSingleMetric(name: string): unknown;
}

function familiesOf(exposition: string, registry: RegistryLike): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const [name, type] of familiesInExposition(exposition)) {
    const metric = registry.getSingleMetric(name) as unknown as
      | { labelNames?: readonly string[] }
      | undefined;
    out.set(name, { name, type, labelNames: [...(metric?.labelNames ?? [])] });
  }
  return out;
}

beforeAll(async () => {
  stack = await startStack('deploy-contract');
  const apiRes = await stack.api.inject({ method: 'GET', url: '/metrics' });
  expect(apiRes.statusCode).toBe(200);
  exported.set('hes-api', familiesOf(apiRes.body, stack.api.metricsRegistry));
  const workerRes = await fetch(`${stack.workerMetricsUrl}/metrics`);
  expect(workerRes.status).toBe(200);
  exported.set('hes-worker', familiesOf(await workerRes.text(), stack.worker.metrics.registry));
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

const JOBS: Service[] = ['hes-api', 'hes-worker'];

/** Services a selector can come from: the job it names, else any. */
function servicesFor(matchers: { label: string; op: string; value: string }[]): Service[] {
  const job = matchers.find((m) => m.label === 'job');
  if (!job) return JOBS;
  if (job.op === '=') return JOBS.filter((j) => j === job.value);
  if (job.op === '=~') return JOBS.filter((j) => new RegExp(`^(?:${job.value})$`).test(j));
  if (job.op === '!=') return JOBS.filter((j) => j !== job.value);
  return JOBS.filter((j) => !new RegExp(`^(?:${job.value})$`).test(j));
}

/** Problems of one expression: unknown metrics, labels a metric does not have, unknown grouping labels. */
function contractProblems(where: string, expr: string): string[] {
  const problems: string[] = [];
  const { selectors, grouping } = scanPromQL(expr);
  const knownLabels = new Set<string>(TARGET_LABELS);
  for (const sel of selectors) {
    const synthetic = SYNTHETIC.get(sel.metric);
    if (synthetic) {
      for (const l of synthetic) knownLabels.add(l);
      for (const m of sel.matchers) {
        if (!TARGET_LABELS.includes(m.label) && !synthetic.includes(m.label)) {
          problems.push(`${where}: ${sel.metric} has no label "${m.label}"`);
        }
      }
      continue;
    }
    const services = servicesFor(sel.matchers);
    const found = services
      .map((svc) => ({ svc, family: familyOf(sel.metric, exported.get(svc)!) }))
      .filter((f) => f.family !== undefined);
    if (found.length === 0) {
      problems.push(
        `${where}: ${sel.metric} is not exported by ${services.join(' or ') || 'any scraped job'}`,
      );
      continue;
    }
    const labels = new Set(found.flatMap((f) => f.family!.labelNames));
    if (sel.metric.endsWith('_bucket')) labels.add('le');
    for (const l of labels) knownLabels.add(l);
    for (const m of sel.matchers) {
      if (!TARGET_LABELS.includes(m.label) && !labels.has(m.label)) {
        problems.push(
          `${where}: ${sel.metric} has no label "${m.label}" (it has: ${[...labels].join(', ') || 'none'})`,
        );
      }
    }
  }
  for (const l of grouping) {
    if (!knownLabels.has(l)) problems.push(`${where}: grouping label "${l}" is on none of its metrics`);
  }
  return problems;
}

describe('the exported metrics (read from the running API and worker)', () => {
  it('include the families the deploy files are written against', () => {
    const api = exported.get('hes-api')!;
    const worker = exported.get('hes-worker')!;
    expect(api.get('hes_api_http_request_duration_seconds')).toMatchObject({ type: 'histogram' });
    expect(api.get('hes_api_checks_accepted_total')?.labelNames.sort()).toEqual(['kind', 'source']);
    expect(worker.get('hes_worker_upstream_requests_total')?.labelNames.sort()).toEqual([
      'endpoint',
      'result',
    ]);
    expect(worker.get('hes_worker_check_latency_seconds')).toMatchObject({
      type: 'histogram',
      labelNames: ['kind'],
    });
    expect(worker.get('hes_worker_queue_jobs')?.labelNames).toEqual(['state']);
    // Default process metrics, one registry per process.
    for (const families of [api, worker]) expect(families.has('process_resident_memory_bytes')).toBe(true);
  });
});

describe('alerts.yml', () => {
  const rules = readAlertRules();

  it('has the alerts the runbook promises', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'HesApiDown',
        'HesApiEnqueueFailures',
        'HesApiErrorRatioHigh',
        'HesBacklogGrowing',
        'HesCheckLatencyP99High',
        'HesChecksFailing',
        'HesNoCompletionsWhilePending',
        'HesOldestPendingCheckTooOld',
        'HesTargetDown',
        'HesUpstreamCredentialsFailing',
        'HesUpstreamErrorRatioHigh',
        'HesUpstreamThrottled',
        'HesWebhookBacklog',
        'HesWebhookDeliveriesFailing',
        'HesWorkersAbsent',
      ].sort(),
    );
  });

  it('uses only exported metrics, with labels they really have', () => {
    const problems = rules.flatMap((r) => contractProblems(`alert ${r.alert}`, r.expr));
    expect(problems).toEqual([]);
    // Not vacuous: every rule references at least one metric.
    for (const r of rules) expect(metricNamesOf(r.expr), r.alert).not.toEqual([]);
  });

  it('selects only scrape jobs that prometheus.yml defines', () => {
    const jobs = readScrapeJobs();
    for (const r of rules) {
      for (const sel of scanPromQL(r.expr).selectors) {
        for (const m of sel.matchers.filter((x) => x.label === 'job' && x.op === '=')) {
          expect(jobs.has(m.value), `${r.alert}: job "${m.value}"`).toBe(true);
        }
      }
    }
  });

  it('gives every alert a severity, a summary, a description and a runbook section', () => {
    const runbook = [join(ROOT, 'README.md')]
      .filter((p) => existsSync(p))
      .map(read)
      .join('\n');
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary?.length, `${r.alert} summary`).toBeGreaterThan(10);
      expect(r.annotations.description?.length, `${r.alert} description`).toBeGreaterThan(40);
      expect(r.annotations.runbook_url, r.alert).toBe(`README.md#${r.alert.toLowerCase()}`);
      const section = new RegExp(`^#{2,5} ${r.alert}\\s*$`, 'm');
      expect(section.test(runbook), `a "${r.alert}" section in README.md`).toBe(true);
    }
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = readDashboard();
  const queries: DashboardQuery[] = dashboardQueries(dashboard);

  it('uses only exported metrics, with labels they really have', () => {
    expect(queries.length).toBeGreaterThan(30);
    const problems = queries.flatMap((q) => contractProblems(`panel "${q.panel}"`, q.expr));
    for (const v of dashboardLabelValues(dashboard)) {
      problems.push(...contractProblems(`variable $${v.variable}`, `${v.metric}{${v.label}!=""}`));
    }
    expect(problems).toEqual([]);
  });

  it('covers throughput, backlog, latency, upstream health, outcomes, errors, API and processes', () => {
    const used = new Set(queries.flatMap((q) => metricNamesOf(q.expr)));
    for (const metric of [
      'hes_api_checks_accepted_total',
      'hes_worker_checks_completed_total',
      'hes_worker_queue_jobs',
      'hes_worker_oldest_pending_check_age_seconds',
      'hes_worker_check_latency_seconds_bucket',
      'hes_worker_upstream_requests_total',
      'hes_worker_upstream_request_duration_seconds_bucket',
      'hes_worker_upstream_codes_per_call_bucket',
      'hes_worker_throttle_pauses_total',
      'hes_worker_rate_limit_rps',
      'hes_worker_upstream_credentials_failing',
      'hes_worker_checks_failed_total',
      'hes_worker_retries_total',
      'hes_worker_reconciler_redriven_total',
      'hes_api_http_request_duration_seconds_count',
      'hes_api_http_request_duration_seconds_bucket',
      'process_resident_memory_bytes',
    ]) {
      expect(used, metric).toContain(metric);
    }
    const text = queries.map((q) => q.expr).join('\n');
    for (const q of ['0.5', '0.9', '0.99']) {
      expect(text).toContain(
        `histogram_quantile(${q}, sum by (le) (rate(hes_worker_check_latency_seconds_bucket`,
      );
    }
  });

  it('reads from the provisioned Prometheus datasource and is the provisioned home dashboard', () => {
    const datasource = read(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'));
    const uid = /^\s*uid:\s*(\S+)/m.exec(datasource)?.[1];
    expect(uid).toBe('prometheus');
    for (const p of allPanels(dashboard).filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe(uid);
      for (const t of p.targets ?? []) expect(t.datasource?.uid ?? uid, p.title).toBe(uid);
    }
    const provider = read(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'hes-gateway.yml'));
    expect(provider).toMatch(/path:\s*\/var\/lib\/grafana\/dashboards/);
    const compose = read(join(ROOT, 'docker-compose.yml'));
    expect(compose).toContain('./deploy/grafana/dashboards:/var/lib/grafana/dashboards');
    expect(compose).toContain(
      'GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: /var/lib/grafana/dashboards/hes-gateway.json',
    );
    expect(new Set(allPanels(dashboard).map((p) => (p as { id?: number }).id)).size).toBe(
      allPanels(dashboard).length,
    );
  });
});

describe('prometheus.yml', () => {
  it('scrapes the API on PORT and every worker on WORKER_METRICS_PORT through DNS service discovery', () => {
    const jobs = readScrapeJobs();
    expect(jobs.get('hes-api')?.port).toBe(3000);
    expect(jobs.get('hes-worker')?.port).toBe(9464);
    expect(jobs.get('hes-worker')?.text).toMatch(/dns_sd_configs:\s*\n\s*- names: \[worker\]\s*\n\s*type: A/);
    expect(read(join(DEPLOY, 'prometheus', 'prometheus.yml'))).toMatch(/rule_files:\s*\n\s*- alerts\.yml/);
  });
});

describe('the PromQL scanner these checks rely on', () => {
  it('finds metric names and labels, not functions, keywords, durations or grouping labels', () => {
    const refs = scanPromQL(
      'histogram_quantile(0.99, sum by (le, kind) (rate(a_bucket{kind=~"x|y", job="hes-worker"}[5m]))) > 300 ' +
        'and on () max(b offset 15m) unless count_over_time((c > 0)[15m:1m]) >= 15 or vector(0) * 1e3',
    );
    expect(refs.selectors.map((s) => s.metric)).toEqual(['a_bucket', 'b', 'c']);
    expect(refs.selectors[0]!.matchers).toEqual([
      { label: 'kind', op: '=~', value: 'x|y' },
      { label: 'job', op: '=', value: 'hes-worker' },
    ]);
    expect(refs.grouping).toEqual(['le', 'kind']);
  });

  it('reports a metric the code does not export, and a label it does not have', () => {
    expect(contractProblems('t', 'sum(rate(hes_worker_upstream_request_total[5m]))')).toEqual([
      't: hes_worker_upstream_request_total is not exported by hes-api or hes-worker',
    ]);
    expect(
      contractProblems('t', 'rate(hes_api_http_request_duration_seconds_count{status="500"}[5m])')[0],
    ).toMatch(/has no label "status"/);
    expect(contractProblems('t', 'hes_api_checks_accepted_total{job="hes-worker"}')).toEqual([
      't: hes_api_checks_accepted_total is not exported by hes-worker',
    ]);
    expect(contractProblems('t', 'sum by (endpoint) (rate(hes_worker_checks_failed_total[5m]))')).toEqual([
      't: grouping label "endpoint" is on none of its metrics',
    ]);
    expect(
      contractProblems(
        't',
        'histogram_quantile(0.9, sum by (le) (rate(hes_worker_check_latency_seconds_bucket[5m])))',
      ),
    ).toEqual([]);
  });

  it('reads the YAML forms rule files use', () => {
    const rules: AlertRule[] = parseAlertRules(
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - alert: A',
        '        expr: up == 0',
        '        for: 5m',
        '        labels:',
        '          severity: critical',
        '        annotations:',
        "          summary: 'it''s {{ $labels.job }}'",
        '          description: >-',
        '            folded',
        '            text',
        '      - alert: B',
        '        expr: |',
        '          sum(x)',
        '            > 1',
        '        annotations:',
        '          summary: "quoted \\"one\\""',
      ].join('\n'),
    );
    expect(rules).toEqual([
      {
        alert: 'A',
        expr: 'up == 0',
        for: '5m',
        labels: { severity: 'critical' },
        annotations: { summary: "it's {{ $labels.job }}", description: 'folded text' },
      },
      {
        alert: 'B',
        expr: 'sum(x)\n  > 1',
        for: undefined,
        labels: {},
        annotations: { summary: 'quoted "one"' },
      },
    ]);
  });
});

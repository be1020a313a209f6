// promtool (Debian's `prometheus` package) validates prometheus.yml and alerts.yml and runs the rule unit
// tests of alerts.test.yml. Skipped, with the reason printed, where promtool is not installed; .ci/run
// installs it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROMETHEUS_DIR, read, readAlertRules } from './deploy-files.js';

const which = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
const PROMTOOL = which.status === 0 ? which.stdout.trim() : null;
if (!PROMTOOL) {
  console.warn(
    'test/deploy/promtool.test.ts: promtool is not on PATH, so the Prometheus config and alert rule tests are ' +
      'skipped. Install it with `apt-get install -y --no-install-recommends prometheus` (.ci/run does).',
  );
}

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL!, args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const scratch = mkdtempSync(join(tmpdir(), 'hes-promtool-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!PROMTOOL)('promtool', () => {
  it('accepts prometheus.yml and the rule file it loads', () => {
    const r = promtool('check', 'config', 'prometheus.yml');
    expect(r.output).toContain('SUCCESS');
    expect(r.status, r.output).toBe(0);
  });

  it('accepts alerts.yml', () => {
    const r = promtool('check', 'rules', 'alerts.yml');
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status, r.output).toBe(0);
  });

  it('passes the rule unit tests of alerts.test.yml', () => {
    const r = promtool('test', 'rules', 'alerts.test.yml');
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });

  it('unit tests fail when a rule is broken (the tests are not vacuous)', () => {
    // The same tests against an alerts.yml whose thresholds are off by a factor of ten.
    const broken = read(join(PROMETHEUS_DIR, 'alerts.yml'))
      .replace(
        'max(hes_worker_oldest_pending_check_age_seconds) > 600',
        'max(hes_worker_oldest_pending_check_age_seconds) > 6000',
      )
      .replace(
        'max(hes_worker_upstream_credentials_failing) == 1',
        'max(hes_worker_upstream_credentials_failing) == 10',
      );
    writeFileSync(join(scratch, 'alerts.yml'), broken);
    copyFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), join(scratch, 'alerts.test.yml'));
    const r = spawnSync(PROMTOOL!, ['test', 'rules', 'alerts.test.yml'], { cwd: scratch, encoding: 'utf8' });
    const output = `${r.stdout}${r.stderr}`;
    expect(r.status).not.toBe(0);
    expect(output).toContain('HesOldestPendingCheckTooOld');
    expect(output).toContain('HesUpstreamCredentialsFailing');
  });
});

describe('alerts.test.yml', () => {
  it('makes every alert fire in one case and stay quiet in another', () => {
    const tests = readFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8');
    // Each `alertname:` entry with what follows it up to the next one.
    const entries = tests.split(/^\s*- eval_time:/m).slice(1);
    for (const { alert } of readAlertRules()) {
      const mine = entries.filter((e) => new RegExp(`^\\s*alertname: ${alert}\\s*$`, 'm').test(e));
      const fires = mine.some((e) => /exp_alerts:\s*\n\s*- exp_labels:/.test(e));
      const quiet = mine.some((e) => /exp_alerts: \[\]/.test(e));
      expect({ alert, fires, quiet }).toEqual({ alert, fires: true, quiet: true });
    }
  });
});

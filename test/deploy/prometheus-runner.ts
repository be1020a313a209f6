// A real Prometheus (Debian's `prometheus` package) for tests: the repository's job names, the given
// alert rules, 1 s scrape and evaluation, targets on the test's own ports, a scratch data directory.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/stack.js';

const which = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
/** The prometheus binary, or null when it is not installed (.ci/run installs it). */
export const PROMETHEUS_BIN = which.status === 0 ? which.stdout.trim() : null;

/** Warns once per test file that needs Prometheus and will be skipped without it. */
export function warnIfNoPrometheus(file: string): void {
  if (!PROMETHEUS_BIN) {
    console.warn(
      `${file}: the prometheus binary is not on PATH, so this test is skipped. Install it with ` +
        '`apt-get install -y --no-install-recommends prometheus` (.ci/run does).',
    );
  }
}

export interface RunningPrometheus {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** What Prometheus printed (warnings and errors): attach it to a failing wait. */
  log(): string;
  /** GET an API path (`/api/v1/...`) and return `data`, or throw Prometheus's error. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export async function startPrometheus(options: {
  /** The alert rules file's content (the production rules, possibly with `for:` shortened). */
  rules: string;
  apiUrl: string;
  workerUrl: string;
}): Promise<RunningPrometheus> {
  if (!PROMETHEUS_BIN) throw new Error('prometheus is not installed');
  const scratch = mkdtempSync(join(tmpdir(), 'hes-prometheus-'));
  const host = (url: string) => new URL(url).host;
  writeFileSync(join(scratch, 'alerts.yml'), options.rules);
  writeFileSync(
    join(scratch, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      '  - alerts.yml',
      'scrape_configs:',
      '  - job_name: hes-api',
      `    static_configs: [{ targets: ['${host(options.apiUrl)}'] }]`,
      '  - job_name: hes-worker',
      `    static_configs: [{ targets: ['${host(options.workerUrl)}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(scratch, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(scratch, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => {
    log += d;
  });
  child.stderr!.on('data', (d) => {
    log += d;
  });
  return {
    url,
    log: () => log,
    async api<T>(path: string): Promise<T> {
      const res = await fetch(`${url}${path}`);
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
      return body.data;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

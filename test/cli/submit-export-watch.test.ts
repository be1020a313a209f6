import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxIdentityLast3 } from '@hes/sandbox';
import type { WorkerRuntime } from '@hes/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.js';
import { runChild, runInProcess } from './run-cli.js';

/**
 * `hes submit | export | watch` against the real API over HTTP, a real in-process worker and the
 * sandbox Ministry. Employee rosters go one call per code under a low rate limit, so the batch
 * takes a couple of seconds and the progress is seen moving.
 */
let stack: Stack;
let dir: string;
let env: Record<string, string>;
let healthy: WorkerRuntime;

// Sandbox: first char R → RISKY, N → NOT_FOUND, E → EXPIRED, else RISKLESS; chars 8–10 → identity digits.
const riskless = Array.from({ length: 14 }, (_, i) => `A${String(i).padStart(6, '0')}123`);
const risky = ['RISKY00111', 'RISKY00222', 'RISKY00333'];
const notFound = ['NOTFND0444', 'NOTFND0555'];
const expired = ['EXPIRD0666'];
const rows = [
  ...riskless.map((c, i) => `${c},emp-${i},${i === 0 ? '999' : sandboxIdentityLast3(c)}`),
  ...risky.map((c, i) => `${c},risky-${i},`),
  ...notFound.map((c, i) => `${c},nf-${i},`),
  ...expired.map((c, i) => `${c},exp-${i},`),
  'not-a-code,bad-1,',
];
const TOTAL = rows.length;
const ESC = '\u001b';
const ERASE_LINE = `${ESC}[K`;

beforeAll(async () => {
  stack = await startStack('cli', { env: { HES_RATE_LIMIT_RPS: '8' } });
  const url = await stack.listen();
  healthy = await stack.startWorker();
  dir = await mkdtemp(join(tmpdir(), 'hes-cli-'));
  await writeFile(join(dir, 'roster.csv'), `hesCode,reference,identityLast3\n${rows.join('\n')}\n`);
  env = { HES_API_URL: url, HES_API_KEY: stack.key };
});

afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const countOf = (stdout: string, group: string, value: string) => {
  const m = new RegExp(`^${group}\\s+${value}\\s+(\\d+)$`, 'm').exec(stdout);
  return m ? Number(m[1]) : null;
};

describe('hes submit', { timeout: 60_000 }, () => {
  let batchId: string;

  it('streams the roster, draws a live bar in place on a terminal and ends with the summary table', async () => {
    const run = await runInProcess(['submit', join(dir, 'roster.csv'), '--kind', 'employee'], {
      env,
      tty: true,
    });
    expect(run.stderr).not.toContain(stack.key);
    expect(run.code, run.stderr).toBe(0);
    // Redrawn with \r, several distinct states, the last one full.
    const frames = run.stderr.split('\r').filter((f) => f.startsWith('['));
    expect(frames.length).toBeGreaterThan(2);
    expect(new Set(frames.map((f) => f.split(ERASE_LINE)[0])).size).toBeGreaterThan(1);
    expect(frames.at(-1)).toMatch(new RegExp(`^\\[█+\\] 100%  ${TOTAL}/${TOTAL}  failed 0  .*ETA 0s`));
    expect(frames.some((f) => / +\d{1,2}%/.test(f) && !f.includes('100%'))).toBe(true);

    batchId = run.lines.at(-1)!;
    expect(batchId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.stdout).toMatch(
      new RegExp(`^Batch ${batchId}: completed, ${TOTAL} checks \\(employee\\)`, 'm'),
    );
    expect(run.stdout).toMatch(/^GROUP\s+VALUE\s+COUNT$/m);
    expect(countOf(run.stdout, 'status', 'completed')).toBe(TOTAL);
    expect(countOf(run.stdout, 'status', 'failed')).toBe(0);
    expect(countOf(run.stdout, 'outcome', 'RISKLESS')).toBe(riskless.length);
    expect(countOf(run.stdout, 'outcome', 'RISKY')).toBe(3);
    expect(countOf(run.stdout, 'outcome', 'NOT_FOUND')).toBe(2);
    expect(countOf(run.stdout, 'outcome', 'EXPIRED')).toBe(1);
    expect(countOf(run.stdout, 'outcome', 'INVALID')).toBe(1);
    expect(countOf(run.stdout, 'identity', 'mismatch')).toBe(1);
  });

  it('export streams the same CSV the API serves', async () => {
    const run = await runInProcess(['export', batchId], { env });
    expect(run.code, run.stderr).toBe(0);
    const api = await fetch(`${env.HES_API_URL}/v1/batches/${batchId}/checks`, {
      headers: { ...stack.headers, accept: 'text/csv' },
    });
    expect(run.stdout).toBe(await api.text());
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id,reference,hesCode,status,outcome,identityMatch,/);
    expect(lines).toHaveLength(TOTAL + 1);
    for (const code of [...riskless, ...risky]) expect(run.stdout).not.toContain(code);

    const onlyRisky = await runInProcess(['export', batchId, '--outcome', 'RISKY'], { env });
    expect(
      onlyRisky.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[1]),
    ).toEqual(['risky-0', 'risky-1', 'risky-2']);
    const mismatch = await runInProcess(['export', batchId, '--identity-mismatch'], { env });
    expect(
      mismatch.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[1]),
    ).toEqual(['emp-0']);
  });

  it('watch --once prints the recent batches; watch <id> --once that batch', async () => {
    const all = await runInProcess(['watch', '--once'], { env });
    expect(all.code, all.stderr).toBe(0);
    expect(all.lines[0]).toMatch(/^ID\s+KIND\s+STATUS\s+DONE\s+TOTAL\s+FAILED\s+RISKY/);
    const row = all.lines.find((l) => l.startsWith(batchId));
    expect(row).toMatch(
      new RegExp(
        `^${batchId}\\s+employee\\s+completed\\s+${TOTAL} \\(100%\\)\\s+${TOTAL}\\s+0\\s+3\\s+2\\s+1\\s+1\\s`,
      ),
    );
    const one = await runInProcess(['watch', batchId, '--once'], { env });
    expect(one.lines).toHaveLength(2);
    expect(one.lines[1]).toBe(row);
  });

  it('watch without an id refreshes the recent batches every second, in place on a terminal, until Ctrl-C', async () => {
    const ctrlC = new AbortController();
    const watching = runInProcess(['watch'], { env, stdoutTty: true, interrupt: ctrlC.signal });
    setTimeout(() => ctrlC.abort(), 2_500);
    const run = await watching;
    expect(run.code, run.stderr).toBe(0);
    const frames = run.stdout.split(new RegExp(`${ESC}\\[\\d+A${ESC}\\[J`));
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const frame of frames) {
      expect(frame).toMatch(/^Recent batches at \d\d:\d\d:\d\dZ \(Ctrl-C to stop\)\n/);
      expect(frame).toContain(batchId);
    }
  });

  it('as a real child process (stderr a pipe): plain progress lines, summary, exit 0', async () => {
    const run = await runChild(['submit', join(dir, 'roster.csv'), '--kind', 'employee'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr).toMatch(
      new RegExp(`^Accepted batch [0-9a-f-]{36}: ${TOTAL} checks \\(employee\\)\\.$`, 'm'),
    );
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('progress: '));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.at(-1)).toMatch(
      new RegExp(`^progress: ${TOTAL}/${TOTAL} \\(100%\\) completed ${TOTAL}, failed 0, [\\d.]+/s, ETA 0s$`),
    );
    expect(countOf(run.stdout, 'outcome', 'RISKY')).toBe(3);
    expect(run.lines.at(-1)).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.stdout + run.stderr).not.toContain(stack.key);
  });

  it('--no-wait prints only the id; Ctrl-C stops watching, not the batch', async () => {
    const quick = await runInProcess(['submit', join(dir, 'roster.csv'), '--no-wait'], { env });
    expect(quick.code).toBe(0);
    expect(quick.lines).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/)]);

    const ctrlC = new AbortController();
    const watching = runInProcess(['submit', join(dir, 'roster.csv'), '--kind', 'employee'], {
      env,
      interrupt: ctrlC.signal,
    });
    setTimeout(() => ctrlC.abort(), 300);
    const run = await watching;
    expect(run.code).toBe(130);
    const id = run.lines.at(-1)!;
    expect(run.stderr).toContain(`Batch ${id} keeps running; resume with: hes watch ${id}`);
    const resumed = await runInProcess(['watch', id], { env });
    expect(resumed.code).toBe(0);
    expect(countOf(resumed.stdout, 'status', 'completed')).toBe(TOTAL);
  });
});

describe('hes API errors', { timeout: 30_000 }, () => {
  it('prints one line with the problem code, exit 1; usage errors exit 2', async () => {
    const unknown = await runInProcess(['watch', '00000000-0000-4000-8000-000000000000', '--once'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trimEnd().split('\n')).toEqual(['hes: NOT_FOUND (404): No such batch']);

    const badKey = await runInProcess(['watch', '--once'], {
      env: { ...env, HES_API_KEY: 'hes_wrongwrongwrong' },
    });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/^hes: UNAUTHORIZED \(401\): .* \(check HES_API_KEY\)\n$/);
    expect(badKey.stderr).not.toContain('hes_wrongwrongwrong');

    const noKey = await runInProcess(['watch', '--once'], { env: { HES_API_URL: env.HES_API_URL! } });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('HES_API_KEY');

    const closed = `http://127.0.0.1:${await closedPort()}`;
    const down = await runInProcess(['watch', '--once'], { env: { ...env, HES_API_URL: closed } });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      `hes: cannot reach the API at ${closed} (ECONNREFUSED) (is the API running? set HES_API_URL)\n`,
    );

    for (const argv of [
      ['submit'],
      ['submit', 'roster.txt'],
      ['export'],
      ['submit', 'x.csv', '--kind', 'vip'],
    ]) {
      const run = await runInProcess(argv, { env });
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr).toContain('Usage: hes');
    }
    for (const argv of [
      ['submit', '--help'],
      ['export', '--help'],
      ['watch', '--help'],
    ]) {
      const run = await runInProcess(argv, { env: {} });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: hes ${argv[0]}`);
    }
  });

  it('exit 1 when checks failed, with failures by error code in the summary', async () => {
    // Only a worker whose credentials the sandbox rejects: every check fails, none is retried.
    await healthy.close();
    await stack.startWorker({ HES_PASSWORD: 'wrong-password', HES_MAX_ATTEMPTS: '1' });
    const file = join(dir, 'small.csv');
    await writeFile(file, 'hesCode,reference\nZZZZ000111,f-1\nZZZZ000222,f-2\nbad,f-3\n');
    const run = await runInProcess(['submit', file, '--kind', 'employee'], { env });
    expect(run.code, run.stderr).toBe(1);
    expect(countOf(run.stdout, 'status', 'failed')).toBe(2);
    expect(countOf(run.stdout, 'status', 'completed')).toBe(1);
    expect(countOf(run.stdout, 'failed', 'UPSTREAM_CREDENTIALS_REJECTED')).toBe(2);
    expect(run.lines.at(-1)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSandboxCodes, sandboxResultFor } from '../src/dataset.js';
import { basic } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const main = join(here, '..', 'src', 'main.ts');

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** `pnpm start:sandbox` without pnpm: the same node flags, from the repository root. */
function run(env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', main], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
  };
}

async function until<T>(probe: () => T | undefined, started: Started, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (started.child.exitCode !== null)
      throw new Error(`exited early: ${started.stderr()}${started.stdout()}`);
    if (performance.now() > deadline) throw new Error(`timed out; output so far: ${started.stdout()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('main.ts', () => {
  it('stops at start with one clear message naming an invalid variable', async () => {
    const started = run({ SANDBOX_ERROR_RATE: '7' });
    const [code] = await started.exit;
    expect(code).toBe(1);
    const lines = started.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('SANDBOX_ERROR_RATE');
  });

  it('listens with the configured credentials, logs only masked codes, and exits 0 on SIGTERM', async () => {
    const started = run({
      SANDBOX_PORT: '0',
      HES_USERNAME: 'inst-user',
      HES_PASSWORD: 'inst-pass',
      LOG_LEVEL: 'debug',
    });
    const testUrl = await until(() => {
      for (const line of started.stdout().split('\n')) {
        if (line.includes('HES sandbox listening')) return (JSON.parse(line) as { test: string }).test;
      }
      return undefined;
    }, started);
    expect(testUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/services\/g2g\/test\/saglik\/hes\/$/);

    const code = generateSandboxCodes('RISKY', 1, 1234)[0]!;
    const authorization = basic('inst-user', 'inst-pass');
    const ok = await request(`${testUrl}check-hes-code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ hes_code: code }),
    });
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.json()).toEqual(sandboxResultFor(code));

    const defaults = await request(`${testUrl}check-hes-code`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: basic('hes-sandbox', 'hes-sandbox-secret'),
      },
      body: JSON.stringify({ hes_code: code }),
    });
    expect(defaults.statusCode).toBe(401);
    await defaults.body.dump();

    await until(
      () => (started.stdout().includes(`${code.slice(0, 2)}******${code.slice(-2)}`) ? true : undefined),
      started,
    );
    started.child.kill('SIGTERM');
    const [exitCode] = await started.exit;
    expect(exitCode).toBe(0);
    const logs = started.stdout();
    expect(logs).not.toContain(code);
    expect(logs).not.toContain(authorization.slice(6));
    expect(logs).not.toContain('inst-pass');
    expect(logs).toContain('"msg":"closed"');
  });
});

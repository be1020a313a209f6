/**
 * `pnpm dev`: migrate, then run sandbox + worker + api against local Postgres and Redis, and print a
 * ready-to-use API key and the docs URL. One environment serves both sides: the sandbox accepts exactly
 * HES_USERNAME/HES_PASSWORD, and the gateway uses them (SPEC §7).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createPrisma,
  DEFAULT_DATABASE_URL,
  SANDBOX_DEFAULT_PASSWORD,
  SANDBOX_DEFAULT_PORT,
  SANDBOX_DEFAULT_USERNAME,
  sandboxBaseUrl,
} from '@hes/core';
import { createApiKey } from '../packages/core/src/auth/api-keys-repository.js';
import { migrate } from '../packages/core/src/db/migrator.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A data key generated once per checkout, so pending codes survive restarts of `pnpm dev`. */
function devDataKey(): string {
  const file = join(root, '.dev', 'data-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

const sandboxPort = Number(process.env.SANDBOX_PORT ?? SANDBOX_DEFAULT_PORT);
const apiPort = Number(process.env.PORT ?? 3000);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  DATABASE_URL: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
  HES_BASE_URL: process.env.HES_BASE_URL ?? sandboxBaseUrl(sandboxPort),
  HES_USERNAME: process.env.HES_USERNAME ?? SANDBOX_DEFAULT_USERNAME,
  HES_PASSWORD: process.env.HES_PASSWORD ?? SANDBOX_DEFAULT_PASSWORD,
  HES_DATA_KEY: process.env.HES_DATA_KEY ?? devDataKey(),
  LOG_PRETTY: process.env.LOG_PRETTY ?? 'true',
  // Local receivers (http://127.0.0.1:…) for webhooks; production accepts https only.
  WEBHOOK_ALLOW_HTTP: process.env.WEBHOOK_ALLOW_HTTP ?? 'true',
  SANDBOX_PORT: String(sandboxPort),
  PORT: String(apiPort),
};

const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, entry: string): void {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(root, entry)], {
    env,
    stdio: 'inherit',
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[dev] ${name} exited (${signal ?? code}); stopping everything`);
    void stop(1);
  });
  children.push(child);
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
  );
  process.exit(exitCode);
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const result = await migrate({ databaseUrl: env.DATABASE_URL! });
console.error(
  `[dev] migrations applied: ${result.applied.length === 0 ? 'none (up to date)' : result.applied.join(', ')}`,
);

start('sandbox', 'services/hes-sandbox/src/main.ts');
start('worker', 'services/worker/src/main.ts');
start('api', 'services/api/src/server.ts');

try {
  await waitReady(`http://127.0.0.1:${apiPort}/readyz`, 60_000);
} catch (err) {
  console.error(`[dev] ${(err as Error).message}`);
  await stop(1);
}

const prisma = createPrisma(env.DATABASE_URL!);
const created = await createApiKey(prisma, { name: `dev-${new Date().toISOString()}`, scopes: ['admin'] });
await prisma.$disconnect();

console.log(`
HES Gateway is running (sandbox Ministry at ${env.HES_BASE_URL})
  API      http://127.0.0.1:${apiPort}
  Docs     http://127.0.0.1:${apiPort}/docs
  Metrics  http://127.0.0.1:${apiPort}/metrics  (worker: http://127.0.0.1:${env.WORKER_METRICS_PORT ?? 9464}/metrics)
  API key  ${created.key}

  curl -s -H "Authorization: Bearer ${created.key}" -H 'content-type: application/json' \\
    -d '{"hesCode":"A1B2-C3D4-E5"}' 'http://127.0.0.1:${apiPort}/v1/checks?wait=5000'
`);

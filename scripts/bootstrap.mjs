#!/usr/bin/env node
// Makes a fresh clone runnable: installs the workspace with the pinned pnpm when node_modules is
// missing or older than the lockfile. Cheap when nothing changed, so every root script calls it.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.modules.yaml');
const lockfile = join(root, 'pnpm-lock.yaml');

const stale =
  !existsSync(marker) ||
  (existsSync(lockfile) && statSync(lockfile).mtimeMs > statSync(marker).mtimeMs) ||
  !existsSync(join(root, 'packages', 'core', 'src', 'generated', 'prisma', 'client.ts'));

if (stale) {
  const args = ['install', ...(existsSync(lockfile) ? ['--frozen-lockfile'] : [])];
  console.error(`[bootstrap] pnpm ${args.join(' ')}`);
  const status = runPnpm(args);
  if (status !== 0) process.exit(status);
}

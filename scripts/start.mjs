#!/usr/bin/env node
// `pnpm start:api|start:worker`: runs the compiled service, building the workspace first when a fresh
// checkout has no dist/ yet (production images build in their Dockerfile and never take this path).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runPnpm } from './pnpm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = { api: 'services/api/dist/server.js', worker: 'services/worker/dist/main.js' };
const service = process.argv[2];
const entry = entries[service];
if (!entry) {
  console.error(`usage: start.mjs <${Object.keys(entries).join('|')}>`);
  process.exit(2);
}
if (!existsSync(join(root, entry))) {
  const status = runPnpm(['run', 'build'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (status !== 0) process.exit(status);
}
// Loaded in this process (no child) so SIGTERM from a supervisor reaches the service's own handler.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(join(root, entry)).href);

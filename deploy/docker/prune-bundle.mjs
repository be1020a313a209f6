#!/usr/bin/env node
// Shrinks a `pnpm deploy --prod` bundle to what the service loads at run time (used by the Dockerfile).
//
// `pnpm deploy --prod` drops devDependencies but keeps auto-installed peers: @prisma/client names the
// Prisma CLI and TypeScript as (optional) peers, which drags ~110 MB of build tooling (prisma, typescript,
// effect, c12 …) into every image although only `prisma generate` at build time uses them. This walks the
// dependency graph from the bundle's own dependencies, leaving out peer edges to those build tools, and
// deletes every package of node_modules/.pnpm it did not reach. It also drops Prisma's query engines for
// databases other than PostgreSQL, and the TypeScript sources and tests of the workspace packages (their
// compiled dist/ is what runs).
//
// Usage: node prune-bundle.mjs <bundle-dir>
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';

const BUILD_ONLY_PEERS = new Set(['prisma', 'typescript']);
const OTHER_DATABASES = ['mysql', 'sqlite', 'sqlserver', 'cockroachdb'];

const bundle = process.argv[2];
if (!bundle || !existsSync(join(bundle, 'package.json'))) {
  console.error('usage: prune-bundle.mjs <bundle-dir with package.json and node_modules>');
  process.exit(2);
}
const nodeModules = join(bundle, 'node_modules');
const store = join(nodeModules, '.pnpm');

function duBytes(path) {
  let total = 0;
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return 0;
  if (!st.isDirectory()) return st.size;
  for (const name of readdirSync(path)) total += duBytes(join(path, name));
  return total;
}
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const before = duBytes(bundle);

/** The node_modules folder a package's dependencies are linked into (its parent, or its scope's parent). */
function depsFolderOf(pkgDir) {
  const parent = dirname(pkgDir);
  return basename(parent).startsWith('@') ? dirname(parent) : parent;
}

/** `.pnpm/<id>` entry holding a real package path, or null for packages outside the store (workspace root). */
function storeEntryOf(realPkgDir) {
  const rel = relative(store, realPkgDir);
  if (rel.startsWith('..')) return null;
  return rel.split(sep)[0];
}

const reached = new Set();
const seen = new Set();
const queue = [];

function visitDeps(pkgDir, depsFolder, { includePeers }) {
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const names = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);
  if (includePeers) {
    for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
      if (!BUILD_ONLY_PEERS.has(peer)) names.add(peer);
    }
  }
  for (const name of names) {
    const link = join(depsFolder, name);
    if (!existsSync(link)) continue; // an optional dependency not installed for this platform
    queue.push(realpathSync(link));
  }
}

visitDeps(bundle, nodeModules, { includePeers: false });
while (queue.length > 0) {
  const pkgDir = queue.pop();
  if (seen.has(pkgDir)) continue;
  seen.add(pkgDir);
  const entry = storeEntryOf(pkgDir);
  if (entry) reached.add(entry);
  visitDeps(pkgDir, depsFolderOf(pkgDir), { includePeers: true });
}

const removed = [];
for (const entry of readdirSync(store)) {
  if (entry === 'node_modules' || entry === 'lock.yaml') continue;
  if (!statSync(join(store, entry)).isDirectory() || reached.has(entry)) continue;
  rmSync(join(store, entry), { recursive: true, force: true });
  removed.push(entry);
}

/** Links left pointing at removed packages (`.bin` shims, pnpm's hoisted .pnpm/node_modules). */
function removeDanglingLinks(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) {
      if (!existsSync(path)) rmSync(path, { force: true });
    } else if (
      st.isDirectory() &&
      (dir === store || ['node_modules', '.pnpm', '.bin'].includes(name) || name.startsWith('@'))
    ) {
      removeDanglingLinks(path);
    }
  }
}
removeDanglingLinks(nodeModules);

// Prisma's client runtime ships a query compiler and a query engine per database; the generated client
// (engineType "client", PostgreSQL through @prisma/adapter-pg) loads only query_compiler_bg.postgresql.*.
for (const entry of readdirSync(store).filter((e) => e.startsWith('@prisma+client@'))) {
  const runtime = join(store, entry, 'node_modules', '@prisma', 'client', 'runtime');
  if (!existsSync(runtime)) continue;
  for (const file of readdirSync(runtime)) {
    const otherDb = OTHER_DATABASES.some((db) => file.startsWith(`query_compiler_bg.${db}.`));
    if (otherDb || file.startsWith('query_engine_bg.')) rmSync(join(runtime, file), { force: true });
  }
}

// Workspace packages run from dist/: their sources, tests and build configs are not needed.
const workspaceDirs = [bundle];
for (const entry of readdirSync(store).filter((e) => e.startsWith('@hes+'))) {
  const scope = join(store, entry, 'node_modules', '@hes');
  for (const name of readdirSync(scope)) {
    const dir = join(scope, name);
    if (!lstatSync(dir).isSymbolicLink()) workspaceDirs.push(dir);
  }
}
for (const dir of workspaceDirs) {
  for (const name of ['src', 'test', 'tsconfig.build.json'])
    rmSync(join(dir, name), { recursive: true, force: true });
  if (!existsSync(join(dir, 'dist'))) {
    console.error(`prune-bundle: ${dir} has no dist/ (was the workspace built?)`);
    process.exit(1);
  }
}

process.stdout.write(
  `prune-bundle: ${bundle}: ${mb(before)} -> ${mb(duBytes(bundle))}; removed ${removed.length} packages` +
    (removed.length > 0 ? ` (${removed.slice(0, 12).join(', ')}${removed.length > 12 ? ', …' : ''})` : '') +
    '\n',
);

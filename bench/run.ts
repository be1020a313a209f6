/**
 * `pnpm bench`: every scenario against the local PostgreSQL and Redis and the in-process sandbox; writes
 * bench/results/latest.json and latest.md and prints the table.
 *   BENCH_ONLY=pipeline,naive   run only these scenarios (pipeline, naive, wait, door, intake, roster, growth)
 *   BENCH_QUICK=1               smaller sizes and shorter runs
 *   BENCH_BUILD=0               do not rebuild: run the API and workers from the dist/ already there
 *
 * The API and workers run compiled (dist/, `pnpm build` first), as `pnpm start:*` and the images do:
 * under tsx a worker idles ~25 MiB larger and pays the loader's CPU.
 */
import { spawnSync } from 'node:child_process';
import { testRedisUrl, testServerUrl } from '@hes/core/testing';
import { machineInfo } from './lib/machine.js';
import { type BenchReport, Recorder, writeReport } from './lib/report.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';
import { door } from './scenarios/door.js';
import { growth } from './scenarios/growth.js';
import { intake } from './scenarios/intake.js';
import { naive } from './scenarios/naive.js';
import { pipeline } from './scenarios/pipeline.js';
import { roster } from './scenarios/roster.js';
import { wait } from './scenarios/wait.js';

const ALL: Scenario[] = [pipeline, naive, wait, door, intake, roster, growth];

const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const only = process.env.BENCH_ONLY
  ? process.env.BENCH_ONLY.split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  : null;
const unknown = only?.filter((n) => !ALL.some((s) => s.name === n)) ?? [];
if (unknown.length > 0) {
  console.error(
    `Unknown scenario(s) in BENCH_ONLY: ${unknown.join(', ')} (known: ${ALL.map((s) => s.name).join(', ')})`,
  );
  process.exit(2);
}
const selected = only ? ALL.filter((s) => only.includes(s.name)) : ALL;

if (process.env.BENCH_BUILD !== '0') {
  const t = performance.now();
  const build = spawnSync(process.execPath, ['scripts/pnpm.mjs', 'run', 'build'], {
    cwd: new URL('..', import.meta.url),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (build.status !== 0) {
    console.error('pnpm build failed: the benchmark runs the compiled services');
    process.exit(1);
  }
  console.log(`built the services in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

const startedAt = new Date();
const t0 = performance.now();
const machine = await machineInfo(testServerUrl(), testRedisUrl());
const root = new Recorder('');
const report = (): BenchReport => ({
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  durationSeconds: (performance.now() - t0) / 1000,
  quick,
  only,
  machine,
  figures: root.figures,
  details: root.details,
  errors: root.errors,
});
const shared: ScenarioContext['shared'] = {};
console.log(`HES Gateway benchmark${quick ? ' (quick)' : ''}: ${selected.map((s) => s.name).join(', ')}`);
for (const scenario of selected) {
  const rec = root.for(scenario.name);
  const t = performance.now();
  console.log(`\n▶ ${scenario.title}`);
  try {
    await scenario.run({ quick, rec, shared });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`  ✖ ${scenario.name} failed: ${message}`);
    root.errors.push({ scenario: scenario.name, message });
  }
  console.log(`  (${Math.round((performance.now() - t) / 1000)} s)`);
  // Written after every scenario, so an interrupted run still leaves what it measured.
  writeReport(report());
}
const { json, md, table } = writeReport(report());

console.log(`\n${table}\nWritten ${json} and ${md}`);
process.exit(root.errors.length > 0 ? 1 : 0);

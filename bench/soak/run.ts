/**
 * `pnpm soak`: the soak run of issue 6 §1, then bench/results/soak.json and soak.md.
 *   SOAK_MINUTES=10   length of the load (fractions allowed); SOAK_SECONDS overrides it
 *   SOAK_WORKERS=2    worker processes (at least 2: one is always up while another restarts)
 * Exits 1 when an acknowledged check was lost, a check got a second result, or a full code leaked.
 */
import { join } from 'node:path';
import { ROOT } from '../lib/stack.js';
import { writeSoakReport } from './report.js';
import { runSoak, soakOptions } from './soak.js';

function durationMs(env: NodeJS.ProcessEnv): number {
  const seconds = env.SOAK_SECONDS ? Number(env.SOAK_SECONDS) : Number(env.SOAK_MINUTES ?? '10') * 60;
  if (!Number.isFinite(seconds) || seconds < 10 || seconds > 24 * 3600) {
    console.error('SOAK_MINUTES / SOAK_SECONDS must give between 10 seconds and 24 hours');
    process.exit(2);
  }
  return Math.round(seconds * 1000);
}

const workers = Number(process.env.SOAK_WORKERS ?? '2');
if (!Number.isInteger(workers) || workers < 2 || workers > 16) {
  console.error('SOAK_WORKERS must be an integer between 2 and 16');
  process.exit(2);
}
const result = await runSoak(soakOptions(durationMs(process.env), workers));
const { json, md } = writeSoakReport(result, join(ROOT, 'bench', 'results'));
const a = result.accounting;
console.log(
  `\nacknowledged ${a.accepted}, completed ${a.completed}, failed ${a.failed}, lost ${a.lost}, ` +
    `second results ${a.duplicates}, leaked codes ${result.leaks.logs.length + result.leaks.database.length + result.leaks.redis.length}`,
);
console.log(`${result.pass ? 'PASS' : `FAIL: ${result.problems.join('; ')}`}\nWritten ${json} and ${md}`);
process.exit(result.pass ? 0 : 1);

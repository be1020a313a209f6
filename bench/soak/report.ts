/** bench/results/soak.json and soak.md from a SoakResult. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SoakResult } from './soak.js';

const n = (v: number) => v.toLocaleString('en-US');

export function soakMarkdown(r: SoakResult): string {
  const a = r.accounting;
  const m = r.machine;
  const up = r.upstream;
  const lines: string[] = [
    '# HES Gateway soak',
    '',
    `Run ${r.startedAt} → ${r.finishedAt}: ${r.config.durationSeconds} s of load, ${r.config.workers} workers, ` +
      `fault phase every ${r.config.phaseSeconds} s, a worker replaced every ${r.config.restartEverySeconds} s ` +
      `(SIGTERM and SIGKILL in turn). **${r.pass ? 'PASS' : 'FAIL'}**${r.problems.length ? `: ${r.problems.join('; ')}` : ''}`,
    '',
    `Code: commit ${r.code.commit.slice(0, 12)}${r.code.dirty ? ' with uncommitted changes' : ''}.`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memGiB.toFixed(0)} GiB · Node ${m.node} · ${m.postgres} · Redis ${m.redis} · ${m.os} (shared with other work: timings are noisy)`,
    '',
    `Load: ${r.config.plan.singleRps} single checks/s (standard, employee, visitor, plus; half with \`?wait=3000\`), ` +
      `a ${r.config.plan.smallRosterSize}-row roster every ${r.config.plan.smallRosterEveryMs / 1000} s, ` +
      `a ${r.config.plan.mediumRosterSize}-row roster (CSV/JSON) every ${r.config.plan.mediumRosterEveryMs / 1000} s; ` +
      `every roster carries one malformed row. ${n(r.load.sent)} requests sent, ${n(r.load.skipped)} skipped (in-flight cap).`,
    '',
    '## Accounting (reconciled against PostgreSQL after the drain)',
    '',
    '| acknowledged | singles | roster checks (rosters) | completed | failed | lost | missing | not final | second results | final rows with ciphertext |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${n(a.accepted)} | ${n(a.acceptedSingles)} | ${n(a.acceptedRosterChecks)} (${a.rosters}) | ${n(a.completed)} | ${n(a.failed)} | **${a.lost}** | ${a.missing} | ${a.notFinal} | ${a.duplicates} | ${a.finalWithCiphertext} |`,
    '',
    `Drain: ${r.drain.complete ? 'complete' : '**incomplete**'} ${r.drain.seconds} s after the load stopped (bound ${r.config.drainTimeoutSeconds} s). ` +
      `Rosters not completed: ${a.rostersNotCompleted}; rosters whose rows differ from the acknowledged total: ${a.rosterCountMismatches}. ` +
      `Most attempts by one check: ${a.maxAttempts}.`,
    '',
    `Failures by error code: ${
      Object.keys(a.failuresByCode).length
        ? Object.entries(a.failuresByCode)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
        : 'none'
    }. ` +
      `Outcomes: ${Object.entries(a.outcomes)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}.`,
    '',
    `Responses: ${Object.entries(r.load.responses)
      .sort()
      .map(([k, v]) => `${k}: ${n(v)}`)
      .join(' · ')}`,
    '',
    '## Upstream',
    '',
    `The sandbox received ${n(up.sandbox.totalRequests)} requests (${n(up.sandbox.acceptedRequests)} admitted, ${n(up.sandbox.rateLimited)} answered 429, ` +
      `${n(up.sandbox.serverErrors)} 5xx, ${n(up.sandbox.resets)} resets); the workers' \`hes_worker_upstream_requests_total\` adds up to ${n(up.workersTotal)} ` +
      `(${Object.entries(up.workers)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}). The difference, ${n(up.sandbox.totalRequests - up.workersTotal)}, ` +
      'is requests of SIGKILLed workers after their last scrape or still in flight when they died (the counter dies with the process).',
    '',
    `Peak admitted requests in any sliding second: ${up.sandbox.peakRps} (gateway limit HES_RATE_LIMIT_RPS=${up.gatewayRps}, sandbox quota ${up.sandboxQuotaRps}, 2 and 6 in the 429 and mixed phases); ` +
      `all arrivals including 429s: ${up.sandbox.peakRpsAllArrivals}.`,
    '',
    '## Fault phases and restarts',
    '',
    r.phases.map((p) => `${p.atSeconds} s ${p.name}`).join(' → '),
    '',
    '| at (s) | worker | signal | stopped in (ms) | exit | replacement up in (ms) |',
    '| ---: | --- | --- | ---: | --- | ---: |',
    ...r.restarts.map(
      (e) =>
        `| ${e.atSeconds} | ${e.label} | ${e.signal}${e.escalated ? ' → SIGKILL' : ''} | ${e.stopMs} | ${e.exit} | ${e.replacement} ${e.startMs} |`,
    ),
    '',
    ...(r.startFailures.length
      ? [`Replacement workers that failed to start (retried): ${r.startFailures.join('; ')}`, '']
      : []),
    '## Memory (RSS, MiB)',
    '',
  ];
  const cols = [...new Set(r.memory.flatMap((s) => Object.keys(s.rss)))];
  lines.push(
    `| t (s) | phase | acknowledged | pending | ${cols.join(' | ')} |`,
    `| ---: | --- | ---: | ---: | ${cols.map(() => '---:').join(' | ')} |`,
  );
  for (const s of r.memory) {
    const cells = cols.map((c) => {
      const v = s.rss[c];
      if (!v) return '';
      return c.startsWith('worker')
        ? `${v.mb.toFixed(0)} (${v.label.replace('worker-', '')})`
        : v.mb.toFixed(0);
    });
    lines.push(`| ${s.t} | ${s.phase} | ${n(s.acknowledged)} | ${n(s.pending)} | ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    'Worker cells name the process in the slot (A1 = slot A, first process; each restart starts the next one).',
    '',
    '## Privacy',
    '',
    `${n(r.load.codesSent)} full codes sent; ${n(r.leaks.logLines)} log lines of the API and every worker process scanned: ` +
      `${r.leaks.logs.length} codes found; database rows: ${r.leaks.database.length}; Redis keys and values: ${r.leaks.redis.length}.`,
    '',
  );
  return lines.join('\n');
}

export function writeSoakReport(r: SoakResult, dir: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'soak.json');
  const md = join(dir, 'soak.md');
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, soakMarkdown(r));
  return { json, md };
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './machine.js';
import { ROOT } from './stack.js';

export interface Target {
  op: '>=' | '<=';
  value: number;
}

export interface Figure {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  target?: Target;
  /** value ÷ target. */
  ratio?: number;
  pass?: boolean;
  note?: string;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  quick: boolean;
  only: string[] | null;
  machine: MachineInfo;
  figures: Figure[];
  /** Scenario-specific raw measurements (latency summaries, sandbox stats, timings). */
  details: Record<string, unknown>;
  errors: { scenario: string; message: string }[];
}

/** Collects figures as scenarios produce them. */
export class Recorder {
  readonly figures: Figure[] = [];
  readonly details: Record<string, unknown> = {};
  readonly errors: { scenario: string; message: string }[] = [];

  constructor(readonly scenario: string) {}

  for(scenario: string): Recorder {
    const r = new Recorder(scenario);
    // Shares the arrays, so every scenario writes into one report.
    Object.assign(r, { figures: this.figures, details: this.details, errors: this.errors });
    return r;
  }

  figure(metric: string, value: number, unit: string, target?: Target, note?: string): Figure {
    const f: Figure = { scenario: this.scenario, metric, value, unit };
    if (target) {
      f.target = target;
      f.ratio = target.value === 0 ? Number.NaN : value / target.value;
      f.pass = target.op === '>=' ? value >= target.value : value <= target.value;
    }
    if (note) f.note = note;
    this.figures.push(f);
    console.log(`  ${fmtFigure(f)}`);
    return f;
  }

  detail(name: string, value: unknown): void {
    this.details[`${this.scenario}.${name}`] = value;
  }
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function fmtFigure(f: Figure): string {
  const t = f.target ? ` (target ${f.target.op} ${fmt(f.target.value)}: ${f.pass ? 'PASS' : 'MISS'})` : '';
  return `${f.metric}: ${fmt(f.value)} ${f.unit}${t}`;
}

export function markdown(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    `Run ${r.startedAt} (${fmt(r.durationSeconds)} s${r.quick ? ', BENCH_QUICK=1' : ''}${r.only ? `, BENCH_ONLY=${r.only.join(',')}` : ''})`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${fmt(m.memGiB)} GiB · Node ${m.node} · ${m.postgres} · Redis ${m.redis} · ${m.os}`,
    '',
    '| scenario | figure | value | target | ratio | pass |',
    '| --- | --- | ---: | ---: | ---: | :---: |',
  ];
  for (const f of r.figures) {
    const target = f.target ? `${f.target.op} ${fmt(f.target.value)} ${f.unit}` : '';
    const ratio = f.ratio === undefined ? '' : fmt(f.ratio);
    const pass = f.pass === undefined ? '' : f.pass ? '✅' : '❌';
    const note = f.note ? ` (${f.note})` : '';
    lines.push(
      `| ${f.scenario} | ${f.metric}${note} | ${fmt(f.value)} ${f.unit} | ${target} | ${ratio} | ${pass} |`,
    );
  }
  if (r.errors.length > 0) {
    lines.push('', 'Errors:', '');
    for (const e of r.errors) lines.push(`- ${e.scenario}: ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

export function writeReport(r: BenchReport): { json: string; md: string; table: string } {
  // BENCH_OUT keeps partial runs (BENCH_ONLY) from overwriting the committed full-run results.
  const dir = process.env.BENCH_OUT || join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const md = join(dir, 'latest.md');
  const table = markdown(r);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, `# HES Gateway benchmark\n\n${table}`);
  return { json, md, table };
}

// Readers for the files under deploy/ and a small PromQL scanner, shared by the deploy tests. The
// repository has no YAML library among its dependencies, so alerts.yml is read by a reader that knows the
// YAML forms rule files use (block mappings and sequences, plain/quoted/literal/folded scalars); the
// real-scrape test cross-checks what it reads against the rules Prometheus itself loaded.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOY = join(ROOT, 'deploy');
export const PROMETHEUS_DIR = join(DEPLOY, 'prometheus');
export const DASHBOARD_PATH = join(DEPLOY, 'grafana', 'dashboards', 'hes-gateway.json');

export const read = (path: string): string => readFileSync(path, 'utf8');

// ------------------------------------------------------------------------------------------------ YAML

interface Line {
  indent: number;
  text: string;
}

function significantLines(source: string): Line[] {
  return source
    .split('\n')
    .map((raw) => ({ indent: raw.length - raw.trimStart().length, text: raw.trimEnd() }));
}

const isBlank = (l: Line): boolean => l.text.trim() === '' || l.text.trim().startsWith('#');

function closingQuote(text: string): number {
  for (let k = 0; k < text.length; k++) {
    if (text[k] !== "'") continue;
    if (text[k + 1] === "'") k++;
    else return k;
  }
  return -1;
}

/** A scalar that starts after `key:` on line `i`; returns the value and the index of the next line. */
function readScalar(lines: Line[], i: number, rest: string, keyIndent: number): [string, number] {
  const header = rest.trim();
  const block = /^([|>])([+-]?)$/.exec(header);
  if (block) {
    const body: Line[] = [];
    let j = i + 1;
    while (j < lines.length && (lines[j]!.text.trim() === '' || lines[j]!.indent > keyIndent))
      body.push(lines[j++]!);
    while (body.length > 0 && body[body.length - 1]!.text.trim() === '') body.pop();
    const indent = Math.min(...body.filter((l) => l.text.trim() !== '').map((l) => l.indent));
    const texts = body.map((l) => (l.text.trim() === '' ? '' : l.text.slice(indent)));
    let value: string;
    if (block[1] === '|') value = texts.join('\n');
    else {
      // Folded: single newlines become spaces, blank lines stay newlines.
      value = texts.reduce(
        (acc, t, k) => (k === 0 ? t : t === '' ? `${acc}\n` : acc.endsWith('\n') ? acc + t : `${acc} ${t}`),
        '',
      );
    }
    return [block[2] === '-' ? value : `${value}\n`, j];
  }
  if (header.startsWith("'")) {
    // Single-quoted: '' is a quote; a line break inside folds to a space.
    let text = header.slice(1);
    let j = i + 1;
    for (;;) {
      const close = closingQuote(text);
      if (close >= 0) return [text.slice(0, close).replace(/''/g, "'"), j];
      if (j >= lines.length) throw new Error(`unterminated single-quoted scalar at line ${i + 1}`);
      text += ` ${lines[j++]!.text.trim()}`;
    }
  }
  if (header.startsWith('"')) return [JSON.parse(header), i + 1];
  // Plain scalar, possibly continued on more-indented lines.
  let value = header.replace(/\s+#.*$/, '');
  let j = i + 1;
  while (
    j < lines.length &&
    !isBlank(lines[j]!) &&
    lines[j]!.indent > keyIndent &&
    !/^\s*[\w.-]+:(\s|$)/.test(lines[j]!.text)
  ) {
    value += ` ${lines[j++]!.text.trim()}`;
  }
  return [value, j];
}

/** `key: scalar` entries of the block mapping whose keys sit at `indent`, from line `start` on. */
function readMapping(lines: Line[], start: number, indent: number): Record<string, string> {
  const out: Record<string, string> = {};
  let i = start;
  while (i < lines.length) {
    const line = lines[i]!;
    if (isBlank(line)) {
      i++;
      continue;
    }
    if (line.indent < indent) break;
    const m = /^\s*([\w.-]+):\s*(.*)$/.exec(line.text);
    if (line.indent === indent && m) {
      const [value, next] = readScalar(lines, i, m[2]!, indent);
      out[m[1]!] = value;
      i = next;
    } else i++;
  }
  return out;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The alerting rules of a Prometheus rule file. */
export function parseAlertRules(source: string): AlertRule[] {
  const lines = significantLines(source);
  const rules: AlertRule[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)- alert:\s*(\S+)\s*$/.exec(lines[i]!.text);
    if (!m) continue;
    const keyIndent = m[1]!.length + 2;
    let end = i + 1;
    while (end < lines.length && (isBlank(lines[end]!) || lines[end]!.indent >= keyIndent)) end++;
    const body = [
      { indent: keyIndent, text: `${' '.repeat(keyIndent)}alert: ${m[2]}` },
      ...lines.slice(i + 1, end),
    ];
    const top = readMapping(body, 0, keyIndent);
    const nested = (key: string): Record<string, string> => {
      const at = body.findIndex((l) => l.indent === keyIndent && l.text.trim() === `${key}:`);
      if (at < 0) return {};
      const first = body.slice(at + 1).find((l) => !isBlank(l));
      return first && first.indent > keyIndent ? readMapping(body, at + 1, first.indent) : {};
    };
    rules.push({
      alert: m[2]!,
      expr: (top.expr ?? '').trim(),
      for: top.for,
      labels: nested('labels'),
      annotations: nested('annotations'),
    });
    i = end - 1;
  }
  return rules;
}

export function readAlertRules(): AlertRule[] {
  return parseAlertRules(read(join(PROMETHEUS_DIR, 'alerts.yml')));
}

/** Scrape jobs of prometheus.yml with their port (static target or DNS-SD port). */
export function readScrapeJobs(): Map<string, { port: number | null; text: string }> {
  const source = read(join(PROMETHEUS_DIR, 'prometheus.yml'));
  const jobs = new Map<string, { port: number | null; text: string }>();
  const chunks = source.split(/^\s*- job_name:\s*/m).slice(1);
  for (const chunk of chunks) {
    const name = chunk.split(/\s/)[0]!.replace(/['"]/g, '');
    const port =
      /^\s*port:\s*(\d+)/m.exec(chunk)?.[1] ?? /targets:\s*\[[^\]]*:(\d+)/.exec(chunk)?.[1] ?? null;
    jobs.set(name, { port: port === null ? null : Number(port), text: chunk });
  }
  return jobs;
}

// ------------------------------------------------------------------------------------------------ Grafana

export interface DashboardQuery {
  panel: string;
  expr: string;
  legendFormat?: string;
}

interface Panel {
  title?: string;
  type?: string;
  datasource?: { uid?: string; type?: string };
  targets?: { expr?: string; legendFormat?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: {
    list?: { name: string; query?: string | { query?: string }; datasource?: { uid?: string } }[];
  };
}

export function readDashboard(): Dashboard {
  return JSON.parse(read(DASHBOARD_PATH)) as Dashboard;
}

export function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  const walk = (ps: Panel[] | undefined) => {
    for (const p of ps ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** Every PromQL expression of the dashboard's panels. */
export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  return allPanels(d).flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => typeof t.expr === 'string' && t.expr.trim() !== '')
      .map((t) => ({
        panel: p.title ?? '(untitled)',
        expr: t.expr!,
        ...(t.legendFormat ? { legendFormat: t.legendFormat } : {}),
      })),
  );
}

/** Template variables written as `label_values(metric, label)`. */
export function dashboardLabelValues(d: Dashboard): { variable: string; metric: string; label: string }[] {
  const out: { variable: string; metric: string; label: string }[] = [];
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = q
      ? /^label_values\(\s*([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s*,\s*([a-zA-Z_]\w*)\s*\)$/.exec(q.trim())
      : null;
    if (m) out.push({ variable: v.name, metric: m[1]!, label: m[3]! });
  }
  return out;
}

/** Grafana's macros and this dashboard's variables replaced by values a plain Prometheus accepts. */
export function expandGrafanaVariables(expr: string, values: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    __rate_interval: '1m',
    __interval: '15s',
    __range: '5m',
    kind: '.*',
    ...values,
  };
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => all[name] ?? whole);
}

// ------------------------------------------------------------------------------------------------ PromQL

export interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

export interface PromQLRefs {
  selectors: Selector[];
  /** Labels named in by/without/on/ignoring/group_left/group_right lists. */
  grouping: string[];
}

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan', 'start', 'end']);
/** Aggregation operators: followed by `(` or by a grouping clause (`sum by (le) (…)`). */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

function skipString(s: string, i: number): number {
  const quote = s[i]!;
  let j = i + 1;
  while (j < s.length && s[j] !== quote) j += s[j] === '\\' && quote !== '`' ? 2 : 1;
  return j + 1;
}

function readUntilClose(s: string, i: number, open: string, close: string): [string, number] {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    const c = s[j]!;
    if (c === '"' || c === "'" || c === '`') {
      j = skipString(s, j);
      continue;
    }
    if (c === open) depth++;
    if (c === close && --depth === 0) return [s.slice(i + 1, j), j + 1];
    j++;
  }
  throw new Error(`unbalanced ${open} in ${s}`);
}

function parseMatchers(block: string): Selector['matchers'] {
  const out: Selector['matchers'] = [];
  const re = /([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g;
  for (const m of block.matchAll(re)) {
    const raw = m[3]!;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    out.push({ label: m[1]!, op: m[2]!, value });
  }
  return out;
}

/**
 * Metric selectors (name + label matchers) and grouping labels of a PromQL expression. Functions and
 * aggregations (identifiers followed by `(`), keywords, durations and strings are not metric names.
 */
export function scanPromQL(expr: string): PromQLRefs {
  const s = expr.replace(/#[^\n]*/g, ' ');
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(s, i);
    } else if (c === '[') {
      i = readUntilClose(s, i, '[', ']')[1];
    } else if (c === '{') {
      const [block, next] = readUntilClose(s, i, '{', '}');
      const matchers = parseMatchers(block);
      const name = matchers.find((m) => m.label === '__name__' && m.op === '=');
      if (name) selectors.push({ metric: name.value, matchers: matchers.filter((m) => m !== name) });
      i = next;
    } else if (/[a-zA-Z_:]/.test(c)) {
      let j = i + 1;
      while (j < s.length && /[\w:]/.test(s[j]!)) j++;
      const ident = s.slice(i, j);
      const afterNumber = i > 0 && /[\d.]/.test(s[i - 1]!);
      let k = j;
      while (k < s.length && /\s/.test(s[k]!)) k++;
      if (afterNumber) {
        i = j; // the unit of a duration or an exponent
      } else if (GROUPING.has(ident) && s[k] === '(') {
        const [list, next] = readUntilClose(s, k, '(', ')');
        grouping.push(
          ...list
            .split(',')
            .map((l) => l.trim())
            .filter(Boolean),
        );
        i = next;
      } else if (
        s[k] === '(' ||
        AGGREGATIONS.has(ident) ||
        KEYWORDS.has(ident.toLowerCase()) ||
        GROUPING.has(ident)
      ) {
        if (ident === 'offset') {
          // offset 15m / offset -1h
          let m = k;
          while (m < s.length && /[-\w]/.test(s[m]!)) m++;
          i = m;
        } else i = j;
      } else if (s[k] === '{') {
        const [block, next] = readUntilClose(s, k, '{', '}');
        selectors.push({ metric: ident, matchers: parseMatchers(block) });
        i = next;
      } else {
        selectors.push({ metric: ident, matchers: [] });
        i = j;
      }
    } else i++;
  }
  return { selectors, grouping };
}

export const metricNamesOf = (expr: string): string[] => [
  ...new Set(scanPromQL(expr).selectors.map((s) => s.metric)),
];

// ------------------------------------------------------------------------------------------------ exposition

export interface Family {
  name: string;
  type: string;
  labelNames: string[];
}

/** `# TYPE` lines of a Prometheus text exposition: what a scrape really announces. */
export function familiesInExposition(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Series that Prometheus makes itself rather than scraping them. */
export const SYNTHETIC = new Map<string, string[]>([
  ['up', []],
  ['scrape_duration_seconds', []],
  ['scrape_samples_scraped', []],
  ['ALERTS', ['alertname', 'alertstate', 'severity']],
]);
/** Labels Prometheus attaches to every scraped series. */
export const TARGET_LABELS = ['job', 'instance'];

/**
 * The exported family a series name belongs to: the name itself, or a histogram's/summary's family for
 * its `_bucket`, `_sum` and `_count` series.
 */
export function familyOf(series: string, families: ReadonlyMap<string, Family>): Family | undefined {
  const direct = families.get(series);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!series.endsWith(suffix)) continue;
    const base = families.get(series.slice(0, -suffix.length));
    if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  return undefined;
}

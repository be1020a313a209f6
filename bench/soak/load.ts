/**
 * Steady mixed load at a fixed rate: single checks of every kind (some with `?wait=`), small JSON
 * rosters and medium CSV/JSON rosters. Requests are fired on a clock, not back to back, so a slow
 * gateway does not lower the offered rate; an in-flight cap keeps a stalled gateway from piling up
 * sockets (requests over the cap are counted as skipped). Every acknowledged check id (200/202 of a
 * single) and every acknowledged roster (202 with its `total`) is recorded for the reconciliation.
 */
import { generateSandboxCodes, type SandboxOutcome } from '@hes/sandbox';
import { Agent, request } from 'undici';

export interface LoadPlan {
  /** Single checks per second. */
  singleRps: number;
  smallRosterEveryMs: number;
  smallRosterSize: number;
  mediumRosterEveryMs: number;
  mediumRosterSize: number;
  maxInFlight: number;
}

export interface AckedBatch {
  id: string;
  total: number;
  items: number;
  format: 'json' | 'csv';
}

export interface LoadTally {
  /** Acknowledged single checks: id → kind. */
  singles: Map<string, string>;
  batches: AckedBatch[];
  /** Every full code sent (for the leak scan). */
  codes: string[];
  /** Responses by request type and status (or `error:<class>` when no answer came). */
  responses: Record<string, number>;
  skipped: number;
  sent: number;
}

type Single = { kind: 'standard' | 'employee' | 'visitor' | 'plus'; wait: boolean };
/** One cycle of ten singles: 40 % standard (half of them waiting), 20 % employee, 20 % visitor, 20 % plus. */
const SINGLE_MIX: Single[] = [
  { kind: 'standard', wait: false },
  { kind: 'standard', wait: true },
  { kind: 'employee', wait: false },
  { kind: 'visitor', wait: true },
  { kind: 'standard', wait: false },
  { kind: 'plus', wait: false },
  { kind: 'employee', wait: true },
  { kind: 'standard', wait: true },
  { kind: 'visitor', wait: false },
  { kind: 'plus', wait: true },
];
const OUTCOMES: SandboxOutcome[] = ['RISKLESS', 'RISKLESS', 'RISKLESS', 'RISKY', 'NOT_FOUND', 'EXPIRED'];
const VISIT = { city: 'Ankara', district: 'Çankaya', address: 'Atatürk Blv. 1' };
const dashed = (c: string) => `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8)}`;

/** Distinct sandbox codes with a mix of outcomes, generated in blocks from a run-specific seed. */
class CodeSource {
  #pool: string[] = [];
  #seed: number;
  #n = 0;
  constructor(seed: number) {
    this.#seed = seed;
  }
  next(): string {
    if (this.#pool.length === 0) {
      const outcome = OUTCOMES[this.#n++ % OUTCOMES.length]!;
      this.#pool = generateSandboxCodes(outcome, 500, this.#seed++);
    }
    return this.#pool.pop()!;
  }
}

export class LoadDriver {
  readonly tally: LoadTally = {
    singles: new Map(),
    batches: [],
    codes: [],
    responses: {},
    skipped: 0,
    sent: 0,
  };
  readonly #agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });
  readonly #codes: CodeSource;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #singles = 0;
  #rosters = 0;

  constructor(
    private readonly apiUrl: string,
    private readonly key: string,
    private readonly plan: LoadPlan,
    seed: number,
  ) {
    this.#codes = new CodeSource(seed);
  }

  start(): void {
    const p = this.plan;
    this.#timers.push(setInterval(() => this.#fire(() => this.#single()), 1000 / p.singleRps));
    this.#timers.push(
      setInterval(() => this.#fire(() => this.#roster('small', p.smallRosterSize)), p.smallRosterEveryMs),
    );
    this.#timers.push(
      setInterval(() => this.#fire(() => this.#roster('medium', p.mediumRosterSize)), p.mediumRosterEveryMs),
    );
    // A medium roster at once, so even a short run carries one.
    this.#fire(() => this.#roster('medium', p.mediumRosterSize));
  }

  /** Stops offering load and waits (bounded) for the requests in flight to be answered. */
  async stop(timeoutMs = 30_000): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    await Promise.race([
      Promise.allSettled([...this.#inFlight]),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
    await this.#agent.close().catch(() => {});
  }

  #fire(fn: () => Promise<void>): void {
    if (this.#inFlight.size >= this.plan.maxInFlight) {
      this.tally.skipped++;
      return;
    }
    this.tally.sent++;
    const p = fn().finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  #count(type: string, status: number | string): void {
    const k = `${type} ${status}`;
    this.tally.responses[k] = (this.tally.responses[k] ?? 0) + 1;
  }

  #code(): string {
    const c = this.#codes.next();
    this.tally.codes.push(c);
    return c;
  }

  async #post(type: string, path: string, contentType: string, body: string) {
    try {
      const res = await request(`${this.apiUrl}${path}`, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { authorization: `Bearer ${this.key}`, 'content-type': contentType },
        body,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      const text = await res.body.text();
      this.#count(type, res.statusCode);
      return { status: res.statusCode, text };
    } catch (err) {
      // No answer: the check may or may not be stored, but it was not acknowledged.
      this.#count(type, `error:${(err as { code?: string }).code ?? (err as Error).name}`);
      return null;
    }
  }

  async #single(): Promise<void> {
    const n = this.#singles++;
    const mix = SINGLE_MIX[n % SINGLE_MIX.length]!;
    const code = this.#code();
    const body: Record<string, unknown> = {
      // Scanners send either form; both must be recognised (and neither logged).
      hesCode: n % 3 === 0 ? dashed(code) : code,
      kind: mix.kind,
      reference: `soak-${n}`,
    };
    if (mix.kind === 'employee') body.identityLast3 = '123';
    if (mix.kind === 'visitor') body.visit = VISIT;
    const type = `single:${mix.kind}${mix.wait ? '?wait' : ''}`;
    const res = await this.#post(
      type,
      `/v1/checks${mix.wait ? '?wait=3000' : ''}`,
      'application/json',
      JSON.stringify(body),
    );
    if (res && (res.status === 200 || res.status === 202)) {
      this.tally.singles.set((JSON.parse(res.text) as { id: string }).id, mix.kind);
    }
  }

  async #roster(size: 'small' | 'medium', items: number): Promise<void> {
    const n = this.#rosters++;
    // Medium rosters alternate CSV and JSON; every roster carries one malformed row (an INVALID check).
    const csv = size === 'medium' && n % 2 === 0;
    const kind = size === 'small' && n % 2 === 1 ? 'plus' : 'standard';
    const codes = Array.from({ length: items }, () => this.#code());
    let body: string;
    if (csv) {
      const rows = codes.map((c, i) => `${i % 2 ? dashed(c) : c},r${n}-${i},123`);
      body = `hesCode,reference,identityLast3\n${rows.join('\n')}\nnot-a-code,r${n}-bad,123\n`;
    } else {
      body = JSON.stringify({
        kind,
        items: [
          ...codes.map((c, i) => ({ hesCode: c, reference: `r${n}-${i}` })),
          { hesCode: 'not-a-code', reference: `r${n}-bad` },
        ],
      });
    }
    const res = await this.#post(
      `roster:${size}`,
      csv ? '/v1/batches?kind=standard' : '/v1/batches',
      csv ? 'text/csv' : 'application/json',
      body,
    );
    if (res && res.status === 202) {
      const { id, total } = JSON.parse(res.text) as { id: string; total: number };
      this.tally.batches.push({ id, total, items: items + 1, format: csv ? 'csv' : 'json' });
    }
  }
}

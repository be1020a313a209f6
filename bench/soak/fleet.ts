/**
 * The worker fleet of the soak: N slots, each holding one worker process at a time. `restartNext()`
 * replaces the next slot's worker, alternating a graceful SIGTERM and a SIGKILL. Each worker's upstream
 * counter is scraped periodically, right before a SIGKILL and until exit after a SIGTERM, so the
 * fleet's total survives the processes that reported it.
 */
import { request } from 'undici';
import { type ServiceProcess, spawnService } from './processes.js';

export interface WorkerProc {
  slot: number;
  generation: number;
  label: string;
  proc: ServiceProcess;
  metricsPort: number;
  /** Last scraped `hes_worker_upstream_requests_total` by result. */
  upstream: Record<string, number>;
}

export interface RestartEvent {
  atSeconds: number;
  label: string;
  signal: 'SIGTERM' | 'SIGKILL';
  stopMs: number;
  /** A SIGTERM that did not end the process within the grace period, so SIGKILL followed. */
  escalated: boolean;
  exit: string;
  replacement: string;
  startMs: number;
}

export function parseUpstream(exposition: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    if (!line.startsWith('hes_worker_upstream_requests_total{')) continue;
    const result = /result="([^"]+)"/.exec(line)?.[1] ?? 'unknown';
    out[result] = (out[result] ?? 0) + Number(line.split(' ').at(-1));
  }
  return out;
}

export class WorkerFleet {
  readonly slots: WorkerProc[] = [];
  /** Every worker process ever started (dead ones keep their last scrape and their log lines). */
  readonly all: WorkerProc[] = [];
  readonly restarts: RestartEvent[] = [];
  /** Replacement workers that exited before they were up (the first line of the reason). */
  readonly startFailures: string[] = [];
  #restarts = 0;

  constructor(
    private readonly env: Record<string, string>,
    private readonly size: number,
    private readonly startedAt: number,
  ) {}

  async start(): Promise<void> {
    for (let slot = 0; slot < this.size; slot++) this.slots[slot] = await this.#spawn(slot, 1);
  }

  async #spawn(slot: number, generation: number): Promise<WorkerProc> {
    const label = `worker-${String.fromCharCode(65 + slot)}${generation}`;
    const proc = spawnService(label, 'services/worker/src/main.ts', this.env);
    const w: WorkerProc = { slot, generation, label, proc, metricsPort: 0, upstream: {} };
    this.all.push(w);
    const started = await proc.waitForLine('"worker started"', 90_000);
    w.metricsPort = (JSON.parse(started) as { metricsPort: number }).metricsPort;
    return w;
  }

  /** A replacement that fails to start is tried again (the slot must not stay empty for the rest of the run). */
  async #replace(slot: number, generation: number): Promise<WorkerProc> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#spawn(slot, generation);
      } catch (err) {
        this.startFailures.push(`${(err as Error).message.split('\n')[0]}`);
        if (attempt >= 3) throw err;
        generation++;
        await new Promise((r) => setTimeout(r, 5_000));
      }
    }
  }

  async scrape(w: WorkerProc): Promise<boolean> {
    if (!w.proc.alive() || w.metricsPort === 0) return false;
    try {
      const res = await request(`http://127.0.0.1:${w.metricsPort}/metrics`, {
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      });
      const text = await res.body.text();
      if (res.statusCode === 200) w.upstream = parseUpstream(text);
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  scrapeAll(): Promise<boolean[]> {
    return Promise.all(this.slots.map((w) => this.scrape(w)));
  }

  /** Replaces one worker: SIGTERM on even restarts, SIGKILL on odd ones; slots take turns. */
  async restartNext(): Promise<RestartEvent> {
    const n = this.#restarts++;
    const slot = n % this.size;
    const old = this.slots[slot]!;
    const signal = n % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
    const atSeconds = Math.round((performance.now() - this.startedAt) / 1000);
    await this.scrape(old);
    let stopped: { escalated: boolean; ms: number };
    if (signal === 'SIGTERM') {
      // Keep reading its counters while it finishes the calls in flight.
      let polling = true;
      const poll = (async () => {
        while (polling && old.proc.alive()) {
          await this.scrape(old);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      stopped = await old.proc.stop('SIGTERM', 30_000);
      polling = false;
      await poll;
    } else {
      stopped = await old.proc.stop('SIGKILL');
    }
    const exit = await old.proc.exited;
    const t0 = performance.now();
    const next = await this.#replace(slot, old.generation + 1);
    this.slots[slot] = next;
    const event: RestartEvent = {
      atSeconds,
      label: old.label,
      signal,
      stopMs: stopped.ms,
      escalated: stopped.escalated,
      exit: exit.code !== null ? `code ${exit.code}` : `signal ${exit.signal}`,
      replacement: next.label,
      startMs: Math.round(performance.now() - t0),
    };
    this.restarts.push(event);
    return event;
  }

  /** Upstream requests by result, summed over every worker process (dead ones: their last scrape). */
  upstreamTotals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const w of this.all) for (const [k, v] of Object.entries(w.upstream)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  async stop(): Promise<void> {
    await this.scrapeAll();
    await Promise.all(this.slots.map((w) => w.proc.stop('SIGTERM', 20_000)));
  }
}

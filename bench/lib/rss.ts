import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of a process from /proc/<pid>/status (kB fields VmRSS and VmHWM), in MiB. */
export function readRss(pid: number): { rssMb: number; hwmMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) / 1024 : Number.NaN;
    };
    return { rssMb: field('VmRSS'), hwmMb: field('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Samples a process's RSS every `intervalMs`. The peak is the larger of the sampled maximum and the
 * kernel's own high-water mark (VmHWM), so a spike between samples is not missed.
 */
export class RssSampler {
  #timer: NodeJS.Timeout | null = null;
  #peakSampled = 0;
  #hwm = 0;
  #samples = 0;
  #startMb = Number.NaN;

  constructor(
    readonly pid: number,
    readonly intervalMs = 200,
  ) {}

  start(): this {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), this.intervalMs);
    this.#timer.unref();
    return this;
  }

  #sample(): void {
    const r = readRss(this.pid);
    if (!r) return;
    this.#samples++;
    if (Number.isNaN(this.#startMb)) this.#startMb = r.rssMb;
    this.#peakSampled = Math.max(this.#peakSampled, r.rssMb);
    if (Number.isFinite(r.hwmMb)) this.#hwm = Math.max(this.#hwm, r.hwmMb);
  }

  /** `startMb`: RSS at start() (an idle process: the baseline the peak grew from). */
  stop(): { peakMb: number; startMb: number; sampledPeakMb: number; hwmMb: number; samples: number } {
    this.#sample();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    return {
      peakMb: Math.max(this.#peakSampled, this.#hwm),
      startMb: this.#startMb,
      sampledPeakMb: this.#peakSampled,
      hwmMb: this.#hwm,
      samples: this.#samples,
    };
  }
}

/** User + system CPU seconds a process has used so far (from /proc/<pid>/stat; clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds used so far by every running process named `name` (e.g. all PostgreSQL backends). */
export function cpuSecondsOf(name: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== name) continue;
    } catch {
      continue;
    }
    const s = cpuSeconds(Number(entry));
    if (Number.isFinite(s)) total += s;
  }
  return total;
}

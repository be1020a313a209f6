import type { BatchView } from '../presenters/batch-view.js';

/** Completed + failed: INVALID rows are final at birth and count as done. */
export const doneOf = (b: BatchView) => b.counts.completed + b.counts.failed;

/**
 * Checks per second over the last `windowMs` of observations, so the ETA follows the current pace
 * (a roster waits on the Ministry's rate limit, not on us) rather than the average since the start.
 */
export class RateMeter {
  readonly #samples: { t: number; done: number }[] = [];
  constructor(private readonly windowMs = 10_000) {}

  observe(t: number, done: number): void {
    this.#samples.push({ t, done });
    while (this.#samples.length > 2 && t - this.#samples[0]!.t > this.windowMs) this.#samples.shift();
  }

  /** null until two observations a measurable time apart exist. */
  perSecond(): number | null {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.t - first.t < 200) return null;
    return ((last.done - first.done) * 1000) / (last.t - first.t);
  }
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export interface ProgressFigures {
  done: number;
  total: number;
  percent: number;
  completed: number;
  failed: number;
  rate: string;
  eta: string;
}

export function figures(batch: BatchView, rate: number | null): ProgressFigures {
  const done = doneOf(batch);
  const remaining = Math.max(0, batch.total - done);
  const percent = batch.total === 0 ? 100 : Math.floor((done * 100) / batch.total);
  let eta = '--';
  if (remaining === 0) eta = '0s';
  else if (rate !== null && rate > 0) eta = formatDuration((remaining / rate) * 1000);
  return {
    done,
    total: batch.total,
    percent,
    completed: batch.counts.completed,
    failed: batch.counts.failed,
    rate: rate === null ? '--/s' : `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s`,
    eta,
  };
}

/** `[█████░░░░░]  46%  920/2000  failed 3  153/s  ETA 7s`, fitted to `columns`. */
export function progressBar(f: ProgressFigures, columns = 80): string {
  const tail = `${String(f.percent).padStart(3)}%  ${f.done}/${f.total}  failed ${f.failed}  ${f.rate}  ETA ${f.eta}`;
  const width = Math.max(10, Math.min(40, columns - tail.length - 4));
  const filled = f.total === 0 ? width : Math.floor((f.done * width) / f.total);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${tail}`;
}

/** The same figures as one plain line, for logs and pipes. */
export function progressLine(f: ProgressFigures): string {
  return `progress: ${f.done}/${f.total} (${f.percent}%) completed ${f.completed}, failed ${f.failed}, ${f.rate}, ETA ${f.eta}`;
}

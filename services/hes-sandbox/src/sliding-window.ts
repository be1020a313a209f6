/**
 * Arrival times within the last `lengthMs` (a sliding window, not a calendar second). A time t is in
 * the window at `now` while `now - t < lengthMs`, the same rule for the rate limiter and the peak
 * statistics, so a limit of N can never show a peak above N.
 */
export class SlidingWindow {
  #times: number[] = [];
  #head = 0;

  constructor(readonly lengthMs: number) {}

  get size(): number {
    return this.#times.length - this.#head;
  }

  /** The i-th oldest time still in the window. */
  at(i: number): number {
    return this.#times[this.#head + i]!;
  }

  evict(now: number): void {
    while (this.#head < this.#times.length && now - this.#times[this.#head]! >= this.lengthMs) this.#head++;
    // Compact now and then instead of shifting on every eviction.
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Records `now` (times must not go backwards) and returns how many times the window then holds. */
  push(now: number): number {
    this.evict(now);
    this.#times.push(now);
    return this.size;
  }

  clear(): void {
    this.#times = [];
    this.#head = 0;
  }
}

/** Calls, failures and slow calls over a sliding window. */
export interface WindowTotals {
  calls: number;
  failures: number;
  slow: number;
}

/** A sliding window of call outcomes: the last N calls, or the last N seconds. */
export interface OutcomeWindow extends WindowTotals {
  record(failed: boolean, slow: boolean, nowMs: number): void;
  /** Totals as of `nowMs` (a time window drops buckets that slid out). */
  totals(nowMs: number): WindowTotals;
  reset(): void;
}

/** The last `size` calls, in a ring of flags; totals are kept incrementally. */
export class CountWindow implements OutcomeWindow {
  readonly #flags: Uint8Array;
  #next = 0;
  calls = 0;
  failures = 0;
  slow = 0;

  constructor(size: number) {
    this.#flags = new Uint8Array(size);
  }

  record(failed: boolean, slow: boolean): void {
    const flags = this.#flags;
    if (this.calls === flags.length) {
      const old = flags[this.#next]!;
      if (old & 1) this.failures--;
      if (old & 2) this.slow--;
    } else this.calls++;
    flags[this.#next] = (failed ? 1 : 0) | (slow ? 2 : 0);
    if (failed) this.failures++;
    if (slow) this.slow++;
    this.#next = (this.#next + 1) % flags.length;
  }

  totals(): WindowTotals {
    return this;
  }

  reset(): void {
    this.#next = 0;
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
  }
}

/** The last `seconds` seconds, in one bucket per second. */
export class TimeWindow implements OutcomeWindow {
  readonly #epoch: Float64Array;
  readonly #calls: Uint32Array;
  readonly #failures: Uint32Array;
  readonly #slow: Uint32Array;
  calls = 0;
  failures = 0;
  slow = 0;

  constructor(seconds: number) {
    this.#epoch = new Float64Array(seconds).fill(-1);
    this.#calls = new Uint32Array(seconds);
    this.#failures = new Uint32Array(seconds);
    this.#slow = new Uint32Array(seconds);
  }

  record(failed: boolean, slow: boolean, nowMs: number): void {
    this.#slide(nowMs);
    const second = Math.floor(nowMs / 1000);
    const i = second % this.#epoch.length;
    this.#calls[i]!++;
    this.calls++;
    if (failed) {
      this.#failures[i]!++;
      this.failures++;
    }
    if (slow) {
      this.#slow[i]!++;
      this.slow++;
    }
  }

  totals(nowMs: number): WindowTotals {
    this.#slide(nowMs);
    return this;
  }

  reset(): void {
    this.#epoch.fill(-1);
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#slow.fill(0);
    this.calls = 0;
    this.failures = 0;
    this.slow = 0;
  }

  /** Empties buckets older than the window and claims the current second's bucket. */
  #slide(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const size = this.#epoch.length;
    const i = second % size;
    if (this.#epoch[i] === second) return;
    for (let k = 0; k < size; k++) {
      const e = this.#epoch[k]!;
      if (e !== -1 && (e <= second - size || k === i)) {
        this.calls -= this.#calls[k]!;
        this.failures -= this.#failures[k]!;
        this.slow -= this.#slow[k]!;
        this.#calls[k] = 0;
        this.#failures[k] = 0;
        this.#slow[k] = 0;
        this.#epoch[k] = -1;
      }
    }
    this.#epoch[i] = second;
  }
}

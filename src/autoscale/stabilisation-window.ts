/**
 * The sizes a policy wanted over the last `windowMs`, for scaling down only to the highest of
 * them (the Kubernetes HPA's scale-down stabilisation). A monotonic queue: times rising, sizes
 * strictly falling, the front the highest; an entry a later, larger one outlasts is dropped, so
 * it holds at most one entry per size (max − min + 1), whatever the window or the tick count.
 */
export class StabilisationWindow {
  readonly #windowMs: number;
  #entries: Array<{ at: number; desired: number }> = [];

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Records `wanted` at `now` and returns the size to go to from `current`: never below the window's highest when going down. */
  stabilise(now: number, current: number, wanted: number): number {
    const entries = this.#entries;
    const from = now - this.#windowMs;
    while (entries.length > 0 && entries[0]!.at < from) entries.shift();
    while (entries.length > 0 && entries.at(-1)!.desired <= wanted) entries.pop();
    entries.push({ at: now, desired: wanted });
    if (wanted >= current) return wanted;
    return Math.min(current, entries[0]!.desired);
  }

  /** Entries held now (for tests of the bound). */
  get size(): number {
    return this.#entries.length;
  }
}

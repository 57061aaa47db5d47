/**
 * A growable binary heap of (score, item) pairs over typed arrays: a max-heap (best on top) or
 * a min-heap (worst on top). Reused across searches: `reset()` empties it without freeing.
 */
export class ScoreHeap {
  readonly #max: boolean;
  scores = new Float64Array(64);
  items = new Int32Array(64);
  size = 0;

  constructor(max: boolean) {
    this.#max = max;
  }

  reset(): this {
    this.size = 0;
    return this;
  }

  /** Score on top (the best of a max-heap, the worst of a min-heap). */
  get topScore(): number {
    return this.scores[0]!;
  }

  push(score: number, item: number): void {
    if (this.size === this.scores.length) {
      const scores = new Float64Array(this.size * 2);
      scores.set(this.scores);
      this.scores = scores;
      const items = new Int32Array(this.size * 2);
      items.set(this.items);
      this.items = items;
    }
    const scores = this.scores;
    const items = this.items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#max ? scores[parent]! >= score : scores[parent]! <= score) break;
      scores[i] = scores[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    scores[i] = score;
    items[i] = item;
  }

  /** Removes the top and returns its item. */
  pop(): number {
    const scores = this.scores;
    const items = this.items;
    const top = items[0]!;
    const n = --this.size;
    const score = scores[n]!;
    const item = items[n]!;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && (this.#max ? scores[right]! > scores[left]! : scores[right]! < scores[left]!))
        child = right;
      if (this.#max ? scores[child]! <= score : scores[child]! >= score) break;
      scores[i] = scores[child]!;
      items[i] = items[child]!;
      i = child;
    }
    scores[i] = score;
    items[i] = item;
    return top;
  }
}

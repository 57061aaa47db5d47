/**
 * A growable binary heap of (score, item) pairs over typed arrays: a max-heap (best on top) or
 * a min-heap (worst on top). Reused across searches: `reset()` empties it without freeing.
 */
export class ScoreHeap {
  readonly #max: boolean;
  scores: Float64Array;
  items: Int32Array;
  size = 0;

  constructor(max: boolean, capacity = 64) {
    this.#max = max;
    this.scores = new Float64Array(Math.max(1, capacity));
    this.items = new Int32Array(Math.max(1, capacity));
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
    if (this.size === this.scores.length) this.#grow();
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
    const top = this.items[0]!;
    const n = --this.size;
    this.#siftDown(this.scores[n]!, this.items[n]!);
    return top;
  }

  /** Replaces the top with (score, item): a pop and a push in one pass. */
  replaceTop(score: number, item: number): void {
    this.#siftDown(score, item);
  }

  /** Places (score, item) from the root down, over the first `size` entries. */
  #siftDown(score: number, item: number): void {
    const scores = this.scores;
    const items = this.items;
    const n = this.size;
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
  }

  #grow(): void {
    const scores = new Float64Array(this.size * 2);
    scores.set(this.scores);
    this.scores = scores;
    const items = new Int32Array(this.size * 2);
    items.set(this.items);
    this.items = items;
  }
}

/**
 * The k highest-scoring items seen: a min-heap over parallel typed arrays, so the root is the
 * worst kept and `worst` is the bar a new item must clear.
 */
export class TopK {
  readonly k: number;
  readonly #scores: Float64Array;
  readonly #items: Int32Array;
  #count = 0;

  constructor(k: number) {
    this.k = k;
    this.#scores = new Float64Array(k);
    this.#items = new Int32Array(k);
  }

  get size(): number {
    return this.#count;
  }

  get full(): boolean {
    return this.#count === this.k;
  }

  /** Score of the worst kept item; −∞ until k are kept. */
  get worst(): number {
    return this.#count < this.k ? Number.NEGATIVE_INFINITY : this.#scores[0]!;
  }

  /** Keeps `item` if it is among the k best so far. */
  offer(score: number, item: number): void {
    if (this.#count < this.k) this.#siftUp(this.#count++, score, item);
    else if (score > this.#scores[0]!) this.#siftDown(score, item);
  }

  /** Kept items, best first. */
  sorted(): Array<{ score: number; item: number }> {
    const out: Array<{ score: number; item: number }> = [];
    for (let i = 0; i < this.#count; i++) out.push({ score: this.#scores[i]!, item: this.#items[i]! });
    return out.sort((a, b) => b.score - a.score || a.item - b.item);
  }

  #siftUp(i: number, score: number, item: number): void {
    const scores = this.#scores;
    const items = this.#items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (scores[parent]! <= score) break;
      scores[i] = scores[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    scores[i] = score;
    items[i] = item;
  }

  #siftDown(score: number, item: number): void {
    const scores = this.#scores;
    const items = this.#items;
    const n = this.#count;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && scores[right]! < scores[left]! ? right : left;
      if (scores[child]! >= score) break;
      scores[i] = scores[child]!;
      items[i] = items[child]!;
      i = child;
    }
    scores[i] = score;
    items[i] = item;
  }
}

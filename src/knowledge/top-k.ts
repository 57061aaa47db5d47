import { ScoreHeap } from './score-heap.ts';

/** The k highest-scoring items seen: a min-heap of k, so `worst` is the bar a new item must clear. */
export class TopK {
  readonly k: number;
  readonly #heap: ScoreHeap;

  constructor(k: number) {
    this.k = k;
    this.#heap = new ScoreHeap(false, k);
  }

  get size(): number {
    return this.#heap.size;
  }

  get full(): boolean {
    return this.#heap.size === this.k;
  }

  /** Score of the worst kept item; −∞ until k are kept. */
  get worst(): number {
    return this.full ? this.#heap.topScore : Number.NEGATIVE_INFINITY;
  }

  /** Keeps `item` if it is among the k best so far. */
  offer(score: number, item: number): void {
    if (this.#heap.size < this.k) this.#heap.push(score, item);
    else if (score > this.#heap.topScore) this.#heap.replaceTop(score, item);
  }

  /** Kept items, best first. */
  sorted(): Array<{ score: number; item: number }> {
    const { scores, items, size } = this.#heap;
    const out: Array<{ score: number; item: number }> = [];
    for (let i = 0; i < size; i++) out.push({ score: scores[i]!, item: items[i]! });
    return out.sort((a, b) => b.score - a.score || a.item - b.item);
  }
}

import { z } from 'zod';

// Hand-written rather than hdr-histogram-js (not a dependency): 160 fixed log buckets make
// merging the nodes' windows a sum and the stored form a short sparse list; ±5% is enough for a gate.
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
/** Buckets: 0 holds ≤ 1 ms, bucket i (1 ≤ i < 160) holds (1.1^(i-1), 1.1^i] ms; the last also everything above (≈ 63 min). */
export const LATENCY_BUCKETS = 160;

/** One version's results over a window, as stored and merged: counts and sparse `[bucket, count]` pairs. */
export const versionStatsSchema = z.strictObject({
  count: z.number().int().min(0),
  errors: z.number().int().min(0),
  /** The largest latency seen, ms. */
  maxMs: z.number().min(0),
  buckets: z.array(
    z.tuple([
      z
        .number()
        .int()
        .min(0)
        .max(LATENCY_BUCKETS - 1),
      z.number().int().min(1),
    ]),
  ),
});
export type VersionStats = z.output<typeof versionStatsSchema>;

/** A mergeable latency histogram with error counts: what one node saw of one version in one window. */
export class LatencyHistogram {
  count = 0;
  errors = 0;
  maxMs = 0;
  readonly #counts = new Float64Array(LATENCY_BUCKETS);

  /** Records one result (O(1)). */
  record(latencyMs: number, ok: boolean): void {
    // biome-ignore lint/complexity/useMathMinMax: Math.max keeps NaN; this makes it 0
    const ms = latencyMs > 0 ? latencyMs : 0;
    this.count++;
    if (!ok) this.errors++;
    if (ms > this.maxMs) this.maxMs = ms;
    this.#counts[bucketOf(ms)]!++;
  }

  /** Adds another window's stats (another node's) to this one. */
  merge(stats: VersionStats): void {
    this.count += stats.count;
    this.errors += stats.errors;
    if (stats.maxMs > this.maxMs) this.maxMs = stats.maxMs;
    for (const [i, n] of stats.buckets) this.#counts[i]! += n;
  }

  /**
   * The latency at quantile `q` (0-1), ms: the upper bound of the bucket it falls in (at most
   * 10% above the true value), capped by the largest latency seen. 0 when empty.
   */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(i === 0 ? 1 : GROWTH ** i, this.maxMs);
    }
    return this.maxMs;
  }

  toJSON(): VersionStats {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < LATENCY_BUCKETS; i++) if (this.#counts[i]! > 0) buckets.push([i, this.#counts[i]!]);
    return { count: this.count, errors: this.errors, maxMs: this.maxMs, buckets };
  }
}

function bucketOf(ms: number): number {
  if (!(ms > 1)) return 0;
  const i = Math.ceil(Math.log(ms) / LOG_GROWTH);
  return i >= LATENCY_BUCKETS ? LATENCY_BUCKETS - 1 : i;
}

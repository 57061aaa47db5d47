import { TopK } from '../top-k.ts';
import { type PreparedQuery, QUERY_OFFSET, type VectorRows } from './vector-rows.ts';

/** Rounding room on the error bound (scores are float64 sums of exact float32 products). */
export const SLACK = 1e-9;

/**
 * The exact top k of `rows` for `query`, from the integer dots a kernel left at
 * `i32[first + i * step]`: the k best lower bounds set a threshold, and only rows whose upper
 * bound reaches it are re-scored in float64. Rows `accept` refuses are skipped.
 */
export function selectExact(
  rows: VectorRows,
  query: Float32Array,
  prepared: PreparedQuery,
  k: number,
  accept: ((row: number) => boolean) | undefined,
  first: number,
  step: number,
): TopK {
  const n = rows.count;
  const upper = rows.upperScratch();
  const dots = rows.i32;
  const { scales, errors, norms, sums } = rows.stats;
  const { scale, norm, error } = prepared;
  const lower = new TopK(k);
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0, p = first; i < n; i++, p += step) {
    if (accept !== undefined && !accept(i)) {
      upper[i] = Number.NEGATIVE_INFINITY;
      continue;
    }
    const approx = (dots[p]! - QUERY_OFFSET * sums[i]!) * scale * scales[i]!;
    const bound = norm * errors[i]! + error * norms[i]!;
    upper[i] = approx + bound;
    if (approx - bound > worst) {
      lower.offer(approx - bound, i);
      worst = lower.worst;
    }
  }
  const threshold = worst - SLACK;
  const candidates: number[] = [];
  for (let i = 0; i < n; i++) {
    if (upper[i]! >= threshold && upper[i]! !== Number.NEGATIVE_INFINITY) candidates.push(i);
  }
  return rescore(rows, query, k, candidates, upper);
}

/**
 * The exact top k of `candidates` (rows whose `upper[row]` bound could reach it), re-scored in
 * float64 best bound first, stopping once the k-th exact score beats the next bound.
 */
export function rescore(
  rows: VectorRows,
  query: Float32Array,
  k: number,
  candidates: number[],
  upper: Float64Array,
): TopK {
  candidates.sort((a, b) => upper[b]! - upper[a]!);
  const best = new TopK(k);
  for (const i of candidates) {
    if (upper[i]! < best.worst) break;
    best.offer(rows.exactDot(query, i), i);
  }
  return best;
}

/** Scans every row for one query and returns the exact top k (see `selectExact`). */
export function scanExact(
  rows: VectorRows,
  query: Float32Array,
  k: number,
  accept: ((row: number) => boolean) | undefined,
): TopK {
  const prepared = rows.prepare(query, 0);
  const out = rows.reserve(1, rows.count);
  rows.scan(out);
  return selectExact(rows, query, prepared, k, accept, out >> 2, 1);
}

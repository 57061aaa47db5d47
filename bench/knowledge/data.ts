// Data for the knowledge vector-search benchmark: seeded, L2-normalised 768-d vectors, queries
// from the same distribution (never in the set), and exact top-k ground truth computed with a
// plain Float64 loop (no library), cached under .bench-out/knowledge-cache/ so reruns are fast.
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { seededRandom } from '../../test/helpers.ts';

export const DIMENSIONS = 768;
export const K = 10;
export const SEED = 20_251_125;
export const CLUSTERS = 1_000;
/**
 * Clustered points are centre + N(0, σ²I), normalised, with σ = 1.17/√D: the noise has norm ≈ 1.17,
 * so a point's cosine to its (unit) centre is ≈ 1/√(1 + 1.17²) ≈ 0.65 (check: `meanCosineToCentre`
 * in the cache's meta.json). Two points of one cluster then have cosine ≈ 0.42 ± 0.05, of two
 * clusters ≈ 0 ± 0.04: the top 10 of a query are found among ~N/1000 close points of its cluster.
 */
export const NOISE_NORM = 1.17;
/** Bump when the generator changes, so stale caches are not reused. */
const GENERATOR = 'v1';

export type DatasetName = 'random' | 'clustered';
export const DATASETS: DatasetName[] = ['random', 'clustered'];

export interface Dataset {
  name: DatasetName;
  n: number;
  q: number;
  /** n rows of DIMENSIONS, row-major. */
  base: Float32Array;
  /** q rows of DIMENSIONS, row-major. */
  queries: Float32Array;
  /** q rows of K ids (row index in `base`), best first. */
  truth: Int32Array;
}

export const CACHE_ROOT = join('.bench-out', 'knowledge-cache');

export function sizes(): { n: number; q: number } {
  const n = Number(process.env.KNOWLEDGE_BENCH_N ?? 100_000);
  const q = Number(process.env.KNOWLEDGE_BENCH_Q ?? 1_000);
  if (!Number.isInteger(n) || n < 100 || !Number.isInteger(q) || q < 1) {
    throw new RangeError(`KNOWLEDGE_BENCH_N (${n}) and KNOWLEDGE_BENCH_Q (${q}) must be positive integers`);
  }
  return { n, q };
}

/** Cache folder of one dataset: keyed by generator version, dataset, N, D and seed. */
export function cacheDir(name: DatasetName, n: number): string {
  return join(CACHE_ROOT, `${GENERATOR}-${name}-n${n}-d${DIMENSIONS}-seed${SEED}`);
}
const paths = (name: DatasetName, n: number, q: number) => {
  const dir = cacheDir(name, n);
  return {
    dir,
    base: join(dir, 'base.f32'),
    queries: join(dir, `queries-q${q}.f32`),
    truth: join(dir, `truth-q${q}-k${K}.i32`),
    meta: join(dir, `meta-q${q}.json`),
  };
};

/** Standard normals from a seeded uniform PRNG (mulberry32), by Box–Muller, two at a time. */
function normals(seed: number): () => number {
  const uniform = seededRandom(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u1 = 1 - uniform(); // (0, 1]: log is finite
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

function normaliseRow(rows: Float32Array, row: number): void {
  const o = row * DIMENSIONS;
  let norm = 0;
  for (let j = 0; j < DIMENSIONS; j++) norm += rows[o + j]! * rows[o + j]!;
  const scale = 1 / Math.sqrt(norm);
  for (let j = 0; j < DIMENSIONS; j++) rows[o + j]! *= scale;
}

/** `count` rows of the dataset's distribution into `out`, from the PRNG stream `seed`. */
function fill(
  name: DatasetName,
  out: Float32Array,
  count: number,
  seed: number,
  centres: Float32Array,
): void {
  const gauss = normals(seed);
  if (name === 'random') {
    for (let i = 0; i < count * DIMENSIONS; i++) out[i] = gauss();
  } else {
    const pick = seededRandom(seed ^ 0x5bd1e995);
    const sigma = NOISE_NORM / Math.sqrt(DIMENSIONS);
    for (let i = 0; i < count; i++) {
      const c = Math.floor(pick() * CLUSTERS) * DIMENSIONS;
      const o = i * DIMENSIONS;
      for (let j = 0; j < DIMENSIONS; j++) out[o + j] = centres[c + j]! + sigma * gauss();
    }
  }
  for (let i = 0; i < count; i++) normaliseRow(out, i);
}

function makeCentres(): Float32Array {
  const centres = new Float32Array(CLUSTERS * DIMENSIONS);
  const gauss = normals(SEED + 2);
  for (let i = 0; i < centres.length; i++) centres[i] = gauss();
  for (let i = 0; i < CLUSTERS; i++) normaliseRow(centres, i);
  return centres;
}

/** Mean cosine of a clustered point to its nearest centre (a sanity check of NOISE_NORM). */
function meanCosineToCentre(rows: Float32Array, count: number, centres: Float32Array): number {
  let sum = 0;
  const sample = Math.min(count, 200);
  for (let i = 0; i < sample; i++) {
    let best = -1;
    for (let c = 0; c < CLUSTERS; c++) {
      let s = 0;
      for (let j = 0; j < DIMENSIONS; j++) s += rows[i * DIMENSIONS + j]! * centres[c * DIMENSIONS + j]!;
      if (s > best) best = s;
    }
    sum += best;
  }
  return sum / sample;
}

/** Exact top-K ids of queries [from, to), by a Float64 dot product over each Float32 row (ties: lower id). */
export function exactTopK(
  base: Float32Array,
  n: number,
  queries: Float32Array,
  from: number,
  to: number,
  out: Int32Array,
): void {
  const bestScore = new Float64Array(K);
  const bestId = new Int32Array(K);
  for (let qi = from; qi < to; qi++) {
    bestScore.fill(Number.NEGATIVE_INFINITY);
    bestId.fill(-1);
    const qo = qi * DIMENSIONS;
    for (let i = 0; i < n; i++) {
      const o = i * DIMENSIONS;
      let s = 0;
      for (let j = 0; j < DIMENSIONS; j++) s += base[o + j]! * queries[qo + j]!;
      if (s <= bestScore[K - 1]!) continue;
      // Insertion into the sorted (descending) list of the K best so far.
      let at = K - 1;
      while (at > 0 && bestScore[at - 1]! < s) {
        bestScore[at] = bestScore[at - 1]!;
        bestId[at] = bestId[at - 1]!;
        at--;
      }
      bestScore[at] = s;
      bestId[at] = i;
    }
    out.set(bestId, qi * K);
  }
}

/** Ground truth for all queries, split over worker threads (one per core). */
async function groundTruth(
  base: Float32Array,
  n: number,
  queries: Float32Array,
  q: number,
): Promise<Int32Array> {
  const truth = new Int32Array(new SharedArrayBuffer(q * K * 4));
  const workers = Math.max(1, Math.min(availableParallelism(), q));
  const per = Math.ceil(q / workers);
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const from = w * per;
      const to = Math.min(q, from + per);
      const worker = new Worker(new URL('./truth-worker.ts', import.meta.url), {
        workerData: { base, n, queries, from, to, truth },
      });
      return new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`truth worker exit ${code}`)),
        );
      });
    }),
  );
  return truth;
}

const shared = (length: number) => new Float32Array(new SharedArrayBuffer(length * 4));

function writeAtomic(path: string, data: Float32Array | Int32Array): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

function readInto<T extends Float32Array | Int32Array>(path: string, out: T): T {
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < bytes.length) {
      const got = readSync(fd, bytes, done, bytes.length - done, done);
      if (got === 0) throw new Error(`${path}: short read (${done} of ${bytes.length} bytes)`);
      done += got;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

const log = (line: string) => process.stderr.write(`[knowledge] ${line}\n`);

/** Makes (or finds in the cache) the dataset, its queries and their exact top-K. */
export async function prepareDataset(name: DatasetName, n: number, q: number): Promise<void> {
  const p = paths(name, n, q);
  if (existsSync(p.base) && existsSync(p.queries) && existsSync(p.truth)) {
    log(`${name}: cached in ${p.dir}`);
    return;
  }
  mkdirSync(p.dir, { recursive: true });
  const started = performance.now();
  const centres = makeCentres();
  let base: Float32Array;
  if (existsSync(p.base)) base = readInto(p.base, shared(n * DIMENSIONS));
  else {
    base = shared(n * DIMENSIONS);
    fill(name, base, n, SEED, centres);
    writeAtomic(p.base, base);
  }
  // Queries come from their own PRNG stream, so they are the same whatever N is.
  const queries = shared(q * DIMENSIONS);
  fill(name, queries, q, SEED + 1, centres);
  log(`${name}: generated ${n} + ${q} vectors in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const truthStarted = performance.now();
  const truth = await groundTruth(base, n, queries, q);
  const truthSeconds = (performance.now() - truthStarted) / 1000;
  log(`${name}: exact top-${K} of ${q} queries over ${n} in ${truthSeconds.toFixed(1)} s`);
  writeAtomic(p.queries, queries);
  writeAtomic(p.truth, truth);
  const meta = {
    name,
    n,
    q,
    dimensions: DIMENSIONS,
    seed: SEED,
    generator: GENERATOR,
    truthSeconds,
    ...(name === 'clustered'
      ? { noiseNorm: NOISE_NORM, meanCosineToCentre: meanCosineToCentre(base, n, centres) }
      : {}),
  };
  writeFileSync(p.meta, `${JSON.stringify(meta, null, 2)}\n`);
}

/** Reads a prepared dataset from the cache (fresh, non-shared buffers). */
export function loadDataset(name: DatasetName, n: number, q: number): Dataset {
  const p = paths(name, n, q);
  return {
    name,
    n,
    q,
    base: readInto(p.base, new Float32Array(n * DIMENSIONS)),
    queries: readInto(p.queries, new Float32Array(q * DIMENSIONS)),
    truth: readInto(p.truth, new Int32Array(q * K)),
  };
}

/** recall@K of one result list against the truth row of query `qi`. */
export function recallAt(truth: Int32Array, qi: number, found: ArrayLike<number>): number {
  let hits = 0;
  const row = truth.subarray(qi * K, qi * K + K);
  for (let i = 0; i < Math.min(found.length, K); i++) if (row.includes(found[i]!)) hits++;
  return hits / K;
}

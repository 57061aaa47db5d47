// The contenders of the knowledge benchmark, each behind one small interface: build from the
// dataset's rows, then answer query i with the ids (row numbers) of its top K.
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { BruteforceSearch, HierarchicalNSW } from 'hnswlib-node';
import hnswlib from 'hnswlib-node';
import { MetricKind, ScalarKind, Index as UsearchIndex } from 'usearch';
import type { VectorHit, VectorMetadata } from '../../src/knowledge/index.ts';
import * as knowledge from '../../src/knowledge/index.ts';
import { TopK } from '../../src/knowledge/top-k.ts';
import { type Dataset, DIMENSIONS, K } from './data.ts';

export const HNSW_M = 16;
export const EF_CONSTRUCTION = 200;
export const EF_SEARCH = [16, 32, 64, 128, 256, 512, 1024, 2048];
const HNSW_SEED = 100;

/** The dataset's queries in the shapes the contenders take, made before anything is measured. */
export interface Queries {
  f32: Float32Array[];
  /** hnswlib-node takes only plain arrays (it reads them element by element through N-API). */
  arrays: number[][];
}

export function splitQueries(ds: Dataset): Queries {
  const f32: Float32Array[] = [];
  const arrays: number[][] = [];
  for (let i = 0; i < ds.q; i++) {
    const row = ds.queries.slice(i * DIMENSIONS, (i + 1) * DIMENSIONS);
    f32.push(row);
    arrays.push(Array.from(row));
  }
  return { f32, arrays };
}

export interface Contender {
  /** Top-K ids of query `i`, best first. */
  search(i: number): ArrayLike<number>;
  /** Top-K ids of every query in one call, when the contender has a batch search. */
  searchAll?(): ArrayLike<number>[];
  /** Its only batch is a loop of `search`: the single-query loop measures it. */
  batchIsLoop?: boolean;
  /** Sets the search beam (ef) of an approximate index. */
  setEf?(ef: number): void;
  /** What the index itself says it holds per vector, when it says (our indexes' `bytesPerVector`). */
  reportedBytesPerVector?: number;
  /** Anything worth a note in the table (threads used, quirks). */
  note?: string;
  dispose?(): void;
}

export type ContenderName =
  | 'naive'
  | 'hnswlib-brute'
  | 'ours-exact'
  | 'ours-exact-2t'
  | 'hnswlib-hnsw'
  | 'usearch'
  | 'usearch-1t'
  | 'ours-hnsw';

export const EXACT: ContenderName[] = ['naive', 'hnswlib-brute', 'ours-exact', 'ours-exact-2t'];
export const APPROXIMATE: ContenderName[] = ['hnswlib-hnsw', 'usearch', 'usearch-1t', 'ours-hnsw'];
export const PEERS: ContenderName[] = ['hnswlib-hnsw', 'usearch', 'usearch-1t'];

const META: VectorMetadata = { tenant: 't' };

function reported(index: { bytesPerVector: number }): { reportedBytesPerVector: number } {
  return { reportedBytesPerVector: index.bytesPerVector };
}

const hitIds = (hits: VectorHit[]): number[] => hits.map((h) => Number(h.id));

/** A fresh copy of row i, as an embedder would hand it over (so no index keeps a view of `base`). */
const rowCopy = (ds: Dataset, i: number) => ds.base.slice(i * DIMENSIONS, (i + 1) * DIMENSIONS);

/** The obvious exact search: one row-major Float32Array, a dot product per row, a min-heap of K (our TopK). */
function naive(ds: Dataset, queries: Queries): Contender {
  const data = ds.base.slice(0, ds.n * DIMENSIONS);
  const n = ds.n;
  const search = (q: Float32Array): number[] => {
    const best = new TopK(K);
    for (let row = 0; row < n; row++) {
      const o = row * DIMENSIONS;
      let s = 0;
      for (let j = 0; j < DIMENSIONS; j++) s += data[o + j]! * q[j]!;
      best.offer(s, row);
    }
    return best.sorted().map((hit) => hit.item);
  };
  return {
    search: (i) => search(queries.f32[i]!),
    batchIsLoop: true,
  };
}

/** Adds every row to an hnswlib-node index, through one reused plain array (its only input type). */
function addRows(index: BruteforceSearch | HierarchicalNSW, ds: Dataset): void {
  const point = new Array<number>(DIMENSIONS);
  for (let i = 0; i < ds.n; i++) {
    const o = i * DIMENSIONS;
    for (let j = 0; j < DIMENSIONS; j++) point[j] = ds.base[o + j]!;
    index.addPoint(point, i);
  }
}

function hnswlibBrute(ds: Dataset, queries: Queries): Contender {
  const index = new hnswlib.BruteforceSearch('ip', DIMENSIONS);
  index.initIndex(ds.n);
  addRows(index, ds);
  return {
    search: (i) => index.searchKnn(queries.arrays[i]!, K).neighbors,
    batchIsLoop: true,
    note: 'no batch API: searchKnn per query is all it has',
  };
}

function oursExact(ds: Dataset, queries: Queries, threads: number): Contender {
  const index = new knowledge.ExactIndex(DIMENSIONS, { initialCapacity: ds.n, threads });
  for (let i = 0; i < ds.n; i++) index.upsert(String(i), rowCopy(ds, i), META);
  return {
    search: (i) => hitIds(index.search(queries.f32[i]!, K)),
    searchAll: () => index.searchBatch(queries.f32, K).map(hitIds),
    ...reported(index),
    note: threads === 1 ? 'one thread' : `scans split across ${threads} threads`,
    dispose: () => void index.close(),
  };
}

function hnswlibHnsw(ds: Dataset, queries: Queries): Contender {
  const index = new hnswlib.HierarchicalNSW('ip', DIMENSIONS);
  index.initIndex(ds.n, HNSW_M, EF_CONSTRUCTION, HNSW_SEED);
  addRows(index, ds);
  return {
    search: (i) => index.searchKnn(queries.arrays[i]!, K).neighbors,
    setEf: (ef) => index.setEf(ef),
    note: 'addPoint one by one, single thread',
  };
}

const usearchIndex = (expansionSearch: number) =>
  new UsearchIndex({
    dimensions: DIMENSIONS,
    metric: MetricKind.IP,
    quantization: ScalarKind.F32,
    connectivity: HNSW_M,
    expansion_add: EF_CONSTRUCTION,
    expansion_search: expansionSearch,
    multi: false,
  });

/**
 * usearch: one batch `add` of all rows, on `threads` threads. 0 is its default: the binding then
 * uses std::thread::hardware_concurrency() threads (javascript/lib.cpp), the online CPU count.
 * Searches pass threads=1: with 0, every call would start hardware_concurrency − 1 std::threads.
 * Its JS binding cannot change expansion_search after construction, so the ef sweep saves the
 * index once and loads it into an Index made with each ef.
 */
function usearch(ds: Dataset, queries: Queries, threads: number, scratch: string): Contender {
  let index = usearchIndex(EF_SEARCH[0]!);
  const keys = new BigUint64Array(ds.n);
  for (let i = 0; i < ds.n; i++) keys[i] = BigInt(i);
  index.add(keys, ds.base.subarray(0, ds.n * DIMENSIONS), threads);
  const file = join(scratch, `usearch-${process.pid}.index`);
  let saved = false;
  return {
    search: (i) => {
      const keys = index.search(queries.f32[i]!, K, 1).keys;
      const ids = new Array<number>(keys.length);
      for (let j = 0; j < keys.length; j++) ids[j] = Number(keys[j]);
      return ids;
    },
    setEf: (ef) => {
      if (!saved) {
        index.save(file);
        saved = true;
      }
      index = usearchIndex(ef);
      index.load(file);
    },
    note: `add threads=${threads === 0 ? `default (${cpus().length})` : threads}; search threads=1`,
    dispose: () => rmSync(file, { force: true }),
  };
}

async function oursHnsw(ds: Dataset, queries: Queries): Promise<Contender> {
  const index = new knowledge.HnswIndex(DIMENSIONS, {
    m: HNSW_M,
    efConstruction: EF_CONSTRUCTION,
    initialCapacity: ds.n,
  });
  const every = Math.max(1, Math.round(ds.n / 10));
  const started = performance.now();
  for (let i = 0; i < ds.n; i++) {
    index.upsert(String(i), rowCopy(ds, i), META);
    if ((i + 1) % every === 0) {
      const s = (performance.now() - started) / 1000;
      process.stderr.write(`[knowledge]   ours-hnsw upserted ${i + 1}/${ds.n} in ${s.toFixed(1)} s\n`);
    }
  }
  return {
    search: (i) => hitIds(index.search(queries.f32[i]!, K)),
    setEf: (ef) => {
      index.efSearch = ef;
    },
    ...reported(index),
    note: 'upsert one by one',
  };
}

export async function build(
  name: ContenderName,
  ds: Dataset,
  queries: Queries,
  scratch: string,
): Promise<Contender> {
  switch (name) {
    case 'naive':
      return naive(ds, queries);
    case 'hnswlib-brute':
      return hnswlibBrute(ds, queries);
    case 'ours-exact':
      return oursExact(ds, queries, 1);
    case 'ours-exact-2t':
      return oursExact(ds, queries, 2);
    case 'hnswlib-hnsw':
      return hnswlibHnsw(ds, queries);
    case 'usearch':
      return usearch(ds, queries, 0, scratch);
    case 'usearch-1t':
      return usearch(ds, queries, 1, scratch);
    case 'ours-hnsw':
      return oursHnsw(ds, queries);
  }
}

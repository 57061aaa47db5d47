import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { parseOptions } from '../errors/index.ts';
import { checkVector } from './exact-index.ts';
import {
  checkGraph,
  type HnswGraph,
  type HnswRestoreResult,
  KnowledgeGraphInvalidError,
} from './hnsw-graph.ts';
import { ScoreHeap } from './score-heap.ts';
import { rescore, SLACK, scanExact } from './simd/exact-scan.ts';
import { QUERY_OFFSET, VectorRows } from './simd/vector-rows.ts';
import { TopK } from './top-k.ts';
import type { VectorFilter, VectorHit, VectorIndex, VectorMetadata } from './vector-index.ts';

const optionsSchema = z.strictObject({
  /** Links per node on the upper layers (twice as many on layer 0). */
  m: z.number().int().min(2).max(64).default(16),
  /** Candidates kept while linking a new node: higher builds slower and finds more. */
  efConstruction: z.number().int().min(1).max(4096).default(200),
  /** Candidates kept while searching (at least k is used). */
  efSearch: z.number().int().min(1).max(65_536).default(64),
  /** Seed of the level draw, so a build is reproducible. */
  seed: z.number().int().default(42),
  initialCapacity: z.number().int().min(1).default(1024),
});

/** Options of `HnswIndex`. */
export type HnswOptions = z.input<typeof optionsSchema>;

/** Rebuild the graph once tombstones outnumber live vectors (and there are this many). */
const REBUILD_MIN_DELETED = 1024;
/** A restored graph missing the vectors of more than this share of its nodes is rebuilt instead. */
const RESTORE_MAX_MISSING = 0.25;

/** A graph being restored: its nodes wait for their vectors, other vectors wait to be linked. */
interface Restoring {
  /** Node of each id the graph held live, with the CRC-32 of the vector it was linked with. */
  readonly byId: Map<string, number>;
  readonly hashes: Uint32Array;
  /** Nodes whose row holds the vector they were linked with (given back, or a tombstone's). */
  readonly filled: Uint8Array;
  /** Vectors with no matching node, linked by `finishRestore`. */
  readonly pending: Map<string, { vector: Float32Array; metadata: VectorMetadata }>;
  /** Graph nodes at the start (rows past them are new). */
  readonly nodes: number;
}

/**
 * Approximate top-k by inner product: a hierarchical navigable small-world graph (Malkov &
 * Yashunin). The walk compares int8 rows with WebAssembly SIMD; the final candidates are
 * re-scored exactly (only those whose error bound could reach the top k), so scores are exact
 * and only recall is approximate. Deletes leave tombstones the walk passes through; the graph
 * is rebuilt when they outnumber live vectors. A filtered search that the walk cannot fill
 * falls back to an exact scan, so a small tenant still gets its k best. `exportGraph()` and
 * `HnswIndex.fromGraph()` let a store save the graph and take it up again without relinking
 * (see `hnsw-graph-file.ts`).
 *
 * Written here rather than wrapping hnswlib-node or usearch: both are native addons (a build
 * step or prebuilt binaries per platform) whose indexes live outside the JS heap with their own
 * id and metadata model; this one shares VectorRows with ExactIndex and needs no addon.
 */
export class HnswIndex implements VectorIndex {
  readonly dimensions: number;
  /** Candidates kept while searching; raise for recall, lower for speed. */
  efSearch: number;
  readonly #options: z.output<typeof optionsSchema>;
  readonly #m0: number;
  /** Room for links beyond m0 (and m): a full list is pruned back by the heuristic only when the
   * room runs out, so pruning runs once per m0/2 new links instead of on every one. */
  readonly #slots0: number;
  readonly #slotsUpper: number;
  readonly #levelFactor: number;
  #random: Mulberry32;
  #rows: VectorRows;
  #ids: Array<string | undefined> = [];
  #metadata: Array<VectorMetadata | undefined> = [];
  readonly #nodes = new Map<string, number>();
  #deleted = 0;
  #levels = new Uint8Array(0);
  /** Layer-0 links: `#slots0` per node, their count in `#counts0`. */
  #links0 = new Int32Array(0);
  #counts0 = new Uint8Array(0);
  /** Upper-layer links per node and layer (1-based): [count, ...m links]. */
  #upper: Array<Int32Array[] | undefined> = [];
  #entry = -1;
  #maxLevel = -1;
  #visited = new Uint16Array(0);
  #epoch = 0;
  readonly #candidates = new ScoreHeap(true);
  readonly #results = new ScoreHeap(false);
  /** Scores of the last `#scoreList` call (overwritten by the next). */
  readonly #scoreScratch: Float64Array;
  #restoring: Restoring | undefined;

  constructor(dimensions: number, options: HnswOptions = {}) {
    this.#options = parseOptions('HnswIndex', optionsSchema, options);
    this.dimensions = dimensions;
    this.efSearch = this.#options.efSearch;
    this.#m0 = this.#options.m * 2;
    this.#slots0 = this.#m0 + (this.#m0 >> 1);
    this.#slotsUpper = this.#options.m + (this.#options.m >> 1);
    this.#scoreScratch = new Float64Array(this.#maxBatch());
    this.#levelFactor = 1 / Math.log(this.#options.m);
    this.#random = new Mulberry32(this.#options.seed);
    this.#rows = new VectorRows(dimensions, {
      initialCapacity: this.#options.initialCapacity,
      encoding: 'u7',
    });
  }

  /** Live vectors. */
  get size(): number {
    return this.#nodes.size + (this.#restoring?.pending.size ?? 0);
  }

  /** Deleted or replaced vectors still in the graph (until the next rebuild). */
  get tombstones(): number {
    return this.#deleted;
  }

  /** Bytes per stored vector: rows (float32 + int8 + bounds) and layer-0 links. */
  get bytesPerVector(): number {
    return this.#rows.bytesPerRow + this.#slots0 * 4 + 2;
  }

  upsert(id: string, vector: Float32Array, metadata: VectorMetadata): void {
    checkVector(vector, this.dimensions, id);
    this.#remove(id);
    if (this.#restoring !== undefined) {
      this.#restoreUpsert(this.#restoring, id, vector, metadata);
      return;
    }
    this.#append(id, vector, metadata, true);
    this.#maybeRebuild();
  }

  delete(id: string): boolean {
    const removed = this.#remove(id);
    if (removed && this.#restoring === undefined) this.#maybeRebuild();
    return removed;
  }

  search(query: Float32Array, k: number, filter?: VectorFilter): VectorHit[] {
    checkVector(query, this.dimensions);
    if (this.#restoring !== undefined) this.finishRestore();
    if (k <= 0 || this.size === 0) return [];
    const accept = this.#accept(filter);
    const prepared = this.#rows.prepare(query, 0);
    const walk: Walk = { query: this.#rows.queryOffset(0), scale: prepared.scale };
    let entry = this.#entry;
    let entryScore = this.#score(walk, entry);
    for (let level = this.#maxLevel; level > 0; level--) {
      [entry, entryScore] = this.#greedy(walk, entry, entryScore, level);
    }
    const results = this.#searchLayer(
      walk,
      entry,
      entryScore,
      Math.max(this.efSearch, k),
      0,
      accept ?? 'live',
    );
    if (results.size < k && results.size < this.size) {
      // the walk found too few acceptable nodes (a selective filter): scan them exactly, never
      // returning a tombstone (whose row is still there)
      const ids = this.#ids;
      const live = accept ?? ((node: number) => ids[node] !== undefined);
      return this.#hits(scanExact(this.#rows, query, k, live));
    }
    // Re-score exactly the candidates whose bound could still reach the top k.
    const rows = this.#rows;
    const upper = rows.upperScratch();
    const lower = new TopK(k);
    for (let i = 0; i < results.size; i++) {
      const node = results.items[i]!;
      const bound = rows.bound(prepared, node);
      upper[node] = results.scores[i]! + bound;
      lower.offer(results.scores[i]! - bound, node);
    }
    const candidates: number[] = [];
    for (let i = 0; i < results.size; i++) {
      const node = results.items[i]!;
      if (upper[node]! >= lower.worst - SLACK) candidates.push(node);
    }
    return this.#hits(rescore(rows, query, k, candidates, upper));
  }

  /** Nothing to release today (the walk runs on the caller); here for `VectorIndex` symmetry. */
  close(): Promise<void> {
    return this.#rows.close();
  }

  /** Rebuilds the graph from live vectors only, dropping tombstones. */
  compact(): void {
    if (this.#restoring !== undefined) this.finishRestore();
    const live = [...this.#nodes].map(([id, node]) => ({
      id,
      vector: Float32Array.from(this.#rows.floats(node)),
      metadata: this.#metadata[node]!,
    }));
    void this.#rows.close();
    this.#rows = new VectorRows(this.dimensions, {
      initialCapacity: Math.max(live.length, 16),
      encoding: 'u7',
    });
    this.#ids = [];
    this.#metadata = [];
    this.#nodes.clear();
    this.#deleted = 0;
    this.#levels = new Uint8Array(0);
    this.#links0 = new Int32Array(0);
    this.#counts0 = new Uint8Array(0);
    this.#upper = [];
    this.#visited = new Uint16Array(0);
    this.#epoch = 0;
    this.#entry = -1;
    this.#maxLevel = -1;
    this.#random = new Mulberry32(this.#options.seed);
    for (const { id, vector, metadata } of live) this.upsert(id, vector, metadata);
  }

  /**
   * The graph as typed arrays, for `hnsw-graph-file.ts` to save: views of the index's own
   * arrays, valid until its next change (encode them at once).
   */
  exportGraph(): HnswGraph {
    if (this.#restoring !== undefined) this.finishRestore();
    const n = this.#rows.count;
    const d = this.dimensions;
    const hashes = new Uint32Array(n);
    let upperInts = 0;
    let tombstones = 0;
    for (let node = 0; node < n; node++) {
      upperInts += this.#levels[node]! * (this.#slotsUpper + 1);
      if (this.#ids[node] === undefined) tombstones++;
      else hashes[node] = vectorHash(this.#rows.floats(node));
    }
    const upper = new Int32Array(upperInts);
    const tombstoneVectors = new Float32Array(tombstones * d);
    for (let node = 0, u = 0, t = 0; node < n; node++) {
      for (let l = 1; l <= this.#levels[node]!; l++, u += this.#slotsUpper + 1) {
        upper.set(this.#upper[node]![l]!, u);
      }
      if (this.#ids[node] === undefined) tombstoneVectors.set(this.#rows.floats(node), d * t++);
    }
    return {
      dimensions: d,
      m: this.#options.m,
      efConstruction: this.#options.efConstruction,
      seed: this.#options.seed,
      random: this.#random.state,
      nodes: n,
      entry: this.#entry,
      maxLevel: this.#maxLevel,
      levels: this.#levels.subarray(0, n),
      counts0: this.#counts0.subarray(0, n),
      links0: this.#links0.subarray(0, n * this.#slots0),
      upper,
      ids: this.#ids.slice(0, n),
      hashes,
      tombstoneVectors,
    };
  }

  /**
   * An index that takes up a saved graph: its upserts give the live nodes back their vectors
   * (a vector whose id and CRC-32 match a node fills that node's row, without linking), and
   * `finishRestore()` — or the first search — makes tombstones of nodes that got none and links
   * the vectors that matched no node. So the restored index is the saved one, plus what changed
   * since. `options` must have the graph's `m` and `efConstruction`.
   * @throws KnowledgeGraphInvalidError when the graph does not fit the options or is inconsistent.
   */
  static fromGraph(graph: HnswGraph, options: HnswOptions = {}): HnswIndex {
    const index = new HnswIndex(graph.dimensions, {
      ...options,
      initialCapacity: Math.max(graph.nodes + 1, options.initialCapacity ?? 1),
    });
    const { m, efConstruction } = index.#options;
    if (graph.m !== m || graph.efConstruction !== efConstruction) {
      throw new KnowledgeGraphInvalidError(
        `The graph was built with m ${graph.m}, efConstruction ${graph.efConstruction}; this index uses ${m}, ${efConstruction}.`,
        { graph: { m: graph.m, efConstruction: graph.efConstruction }, index: { m, efConstruction } },
      );
    }
    checkGraph(graph, index.#slots0, index.#slotsUpper);
    const n = graph.nodes;
    index.#ensureCapacity(n);
    index.#rows.appendZeros(n);
    index.#levels.set(graph.levels);
    index.#counts0.set(graph.counts0);
    index.#links0.set(graph.links0);
    const filled = new Uint8Array(n);
    const byId = new Map<string, number>();
    for (let node = 0, u = 0, t = 0; node < n; node++) {
      const level = graph.levels[node]!;
      if (level > 0) {
        const lists: Int32Array[] = [new Int32Array(0)];
        for (let l = 1; l <= level; l++, u += index.#slotsUpper + 1) {
          lists.push(graph.upper.slice(u, u + index.#slotsUpper + 1));
        }
        index.#upper[node] = lists;
      }
      const id = graph.ids[node];
      if (id !== undefined) byId.set(id, node);
      else {
        index.#rows.set(node, graph.tombstoneVectors.subarray(t * graph.dimensions, ++t * graph.dimensions));
        filled[node] = 1;
        index.#deleted++;
      }
    }
    index.#ids = new Array<string | undefined>(n).fill(undefined);
    index.#metadata = new Array<VectorMetadata | undefined>(n).fill(undefined);
    index.#entry = graph.entry;
    index.#maxLevel = graph.maxLevel;
    index.#random.state = graph.random >>> 0;
    index.#restoring = { byId, hashes: graph.hashes, filled, pending: new Map(), nodes: n };
    return index;
  }

  /**
   * Ends a restore (see `fromGraph`; a no-op otherwise): graph nodes no vector came back for
   * become tombstones, vectors no node matched are linked, and when more than a quarter of the
   * nodes got no vector the graph is rebuilt from the live vectors instead.
   */
  finishRestore(): HnswRestoreResult {
    const restoring = this.#restoring;
    const result: HnswRestoreResult = { reused: this.#nodes.size, inserted: 0, dropped: 0, rebuilt: false };
    if (restoring === undefined) return result;
    this.#restoring = undefined;
    let missing = 0;
    for (const node of restoring.byId.values()) {
      if (this.#ids[node] === undefined) {
        result.dropped++;
        this.#deleted++;
        if (restoring.filled[node] === 0) missing++;
      }
    }
    result.inserted = restoring.pending.size;
    if (missing > restoring.nodes * RESTORE_MAX_MISSING) {
      // links through that many rows without their vectors would lose recall: rebuild
      for (const [id, { vector, metadata }] of restoring.pending) this.#append(id, vector, metadata, false);
      this.compact();
      result.rebuilt = true;
      return result;
    }
    for (const [id, { vector, metadata }] of restoring.pending) this.#append(id, vector, metadata, true);
    this.#maybeRebuild();
    return result;
  }

  #restoreUpsert(restoring: Restoring, id: string, vector: Float32Array, metadata: VectorMetadata): void {
    const node = restoring.byId.get(id);
    if (node === undefined || restoring.hashes[node] !== vectorHash(vector)) {
      restoring.pending.set(id, { vector: Float32Array.from(vector), metadata });
      return;
    }
    this.#rows.set(node, vector);
    restoring.filled[node] = 1;
    this.#ids[node] = id;
    this.#metadata[node] = metadata;
    this.#nodes.set(id, node);
  }

  /** Adds a row for `id` (live), linked into the graph when `link`. */
  #append(id: string, vector: Float32Array, metadata: VectorMetadata, link: boolean): void {
    const node = this.#rows.push(vector);
    this.#ensureCapacity(node + 1);
    this.#ids[node] = id;
    this.#metadata[node] = metadata;
    this.#nodes.set(id, node);
    if (link) this.#link(node);
  }

  #remove(id: string): boolean {
    const restoring = this.#restoring;
    if (restoring?.pending.delete(id)) return true;
    const node = this.#nodes.get(id);
    if (node === undefined) return false;
    this.#nodes.delete(id);
    this.#ids[node] = undefined;
    this.#metadata[node] = undefined;
    // while restoring, an unclaimed node may be claimed again; finishRestore counts tombstones
    if (restoring === undefined) this.#deleted++;
    return true;
  }

  #maybeRebuild(): void {
    if (this.#deleted >= REBUILD_MIN_DELETED && this.#deleted > this.#nodes.size) this.compact();
  }

  /** Inserts `node` (already a row) into the graph. */
  #link(node: number): void {
    const level = Math.min(250, Math.floor(-Math.log(1 - this.#random.next()) * this.#levelFactor));
    this.#levels[node] = level;
    if (level > 0) {
      this.#upper[node] = Array.from({ length: level + 1 }, (_, l) =>
        l === 0 ? new Int32Array(0) : new Int32Array(this.#slotsUpper + 1),
      );
    }
    if (this.#entry < 0) {
      this.#entry = node;
      this.#maxLevel = level;
      return;
    }
    const walk = this.#rowWalk(node);
    let entry = this.#entry;
    let entryScore = this.#score(walk, entry);
    for (let l = this.#maxLevel; l > level; l--)
      [entry, entryScore] = this.#greedy(walk, entry, entryScore, l);
    for (let l = Math.min(level, this.#maxLevel); l >= 0; l--) {
      // tombstones too (as hnswlib does): linking only to live nodes could leave a new node
      // without links, or with none found, on a layer full of tombstones
      const found = this.#searchLayer(walk, entry, entryScore, this.#options.efConstruction, l, 'all');
      // like hnswlib: m links of its own on every layer; neighbours may hold up to m0 on layer 0
      const chosen = this.#selectNeighbours(found.items, found.scores, found.size, this.#options.m);
      this.#setLinks(node, l, chosen);
      for (const neighbour of chosen) this.#addLink(neighbour, node, l);
      // the best found is the next layer's entry
      let best = 0;
      for (let i = 1; i < found.size; i++) if (found.scores[i]! > found.scores[best]!) best = i;
      entry = found.items[best]!;
      entryScore = found.scores[best]!;
    }
    if (level > this.#maxLevel) {
      this.#maxLevel = level;
      this.#entry = node;
    }
  }

  /**
   * The HNSW heuristic: take candidates best first, keeping one only if it is closer to the
   * base than to every neighbour already kept, so links spread in different directions.
   */
  #selectNeighbours(items: Int32Array, scores: Float64Array, n: number, max: number): number[] {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
    if (n <= max) return order.map((i) => items[i]!);
    const kept: number[] = [];
    for (const i of order) {
      if (kept.length >= max) break;
      const candidate = items[i]!;
      const toKept = this.#pairScores(candidate, kept);
      let good = true;
      for (let j = 0; j < kept.length; j++) {
        if (toKept[j]! > scores[i]!) {
          good = false;
          break;
        }
      }
      if (good) kept.push(candidate);
    }
    return kept;
  }

  /** Adds `node` to `neighbour`'s links on `level`, re-selecting them when full. */
  #addLink(neighbour: number, node: number, level: number): void {
    const links = this.#neighbours(neighbour, level);
    if (links.length < (level === 0 ? this.#slots0 : this.#slotsUpper)) {
      if (level === 0) {
        this.#links0[neighbour * this.#slots0 + this.#counts0[neighbour]!] = node;
        this.#counts0[neighbour]!++;
      } else {
        const list = this.#upper[neighbour]![level]!;
        list[++list[0]!] = node;
      }
      return;
    }
    const candidates = Int32Array.from([...links, node]);
    const scores = Float64Array.from(this.#pairScores(neighbour, candidates));
    const max = level === 0 ? this.#m0 : this.#options.m;
    this.#setLinks(neighbour, level, this.#selectNeighbours(candidates, scores, candidates.length, max));
  }

  #setLinks(node: number, level: number, links: readonly number[]): void {
    if (level === 0) {
      this.#links0.set(links, node * this.#slots0);
      this.#counts0[node] = links.length;
    } else {
      const list = this.#upper[node]![level]!;
      list[0] = links.length;
      list.set(links, 1);
    }
  }

  #neighbours(node: number, level: number): Int32Array {
    if (level === 0) {
      const start = node * this.#slots0;
      return this.#links0.subarray(start, start + this.#counts0[node]!);
    }
    const list = this.#upper[node]![level]!;
    return list.subarray(1, 1 + list[0]!);
  }

  /** Greedy descent on an upper layer: moves to a better neighbour until none is. */
  #greedy(walk: Walk, entry: number, entryScore: number, level: number): [number, number] {
    let changed = true;
    while (changed) {
      changed = false;
      const links = this.#neighbours(entry, level);
      const scores = this.#scoreList(walk, links, links.length);
      for (let i = 0; i < links.length; i++) {
        if (scores[i]! > entryScore) {
          entryScore = scores[i]!;
          entry = links[i]!;
          changed = true;
        }
      }
    }
    return [entry, entryScore];
  }

  /**
   * Best-first search of one layer keeping `ef` results. Unless `accept` is 'all', tombstones
   * and nodes `accept` refuses are walked through but not returned.
   */
  #searchLayer(
    walk: Walk,
    entry: number,
    entryScore: number,
    ef: number,
    level: number,
    accept: Accept,
  ): ScoreHeap {
    const visited = this.#nextEpoch();
    const epoch = this.#epoch;
    const candidates = this.#candidates.reset();
    const results = this.#results.reset();
    visited[entry] = epoch;
    candidates.push(entryScore, entry);
    if (this.#returnable(entry, accept)) results.push(entryScore, entry);
    const ids = this.#idsBuffer();
    while (candidates.size > 0) {
      const score = candidates.topScore;
      if (results.size >= ef && score < results.topScore) break;
      const current = candidates.pop();
      const links = this.#neighbours(current, level);
      let n = 0;
      for (let i = 0; i < links.length; i++) {
        const next = links[i]!;
        if (visited[next] === epoch) continue;
        visited[next] = epoch;
        ids[n++] = next;
      }
      if (n === 0) continue;
      const scores = this.#scoreList(walk, ids, n);
      for (let i = 0; i < n; i++) {
        const s = scores[i]!;
        if (results.size < ef || s > results.topScore) {
          const next = ids[i]!;
          candidates.push(s, next);
          if (this.#returnable(next, accept)) {
            results.push(s, next);
            if (results.size > ef) results.pop();
          }
        }
      }
    }
    return results;
  }

  #returnable(node: number, accept: Accept): boolean {
    if (accept === 'all') return true;
    return this.#ids[node] !== undefined && (accept === 'live' || accept(node));
  }

  #score(walk: Walk, node: number): number {
    const ids = this.#idsBuffer();
    ids[0] = node;
    return this.#scoreList(walk, ids, 1)[0]!;
  }

  /** Approximate scores of `n` nodes (read from `nodes`) for the walk's query or row. */
  #scoreList(walk: Walk, nodes: Int32Array, n: number): Float64Array {
    const rows = this.#rows;
    const ids = this.#idsBuffer();
    if (nodes !== ids) ids.set(nodes.subarray(0, n));
    const out = this.#outOffset();
    const { scales, sums } = rows.stats;
    const i32 = rows.i32;
    const idsOffset = this.#idsOffset();
    const result = this.#scoreScratch;
    rows.kernels.dotListU7(walk.query, rows.rowsOffset, rows.stride, idsOffset, n, out);
    for (let i = 0, p = out >> 2, q = idsOffset >> 2; i < n; i++, p++, q++) {
      const node = i32[q]!;
      result[i] = (i32[p]! - QUERY_OFFSET * sums[node]!) * walk.scale * scales[node]!;
    }
    return result;
  }

  #pairScores(base: number, others: ArrayLike<number>): Float64Array {
    const ids = this.#idsBuffer();
    for (let i = 0; i < others.length; i++) ids[i] = others[i]!;
    return this.#scoreList(this.#rowWalk(base), ids, others.length);
  }

  /** A walk whose query is stored row `row` (u7 rows serve as queries as they are). */
  #rowWalk(row: number): Walk {
    const rows = this.#rows;
    return { query: rows.rowsOffset + row * rows.stride, scale: rows.rowScale(row) };
  }

  #idsCache: { i32: Int32Array; offset: number; view: Int32Array } | undefined;

  /** Node numbers to score, in kernel memory after the query slot. */
  #idsBuffer(): Int32Array {
    const offset = this.#idsOffset();
    const i32 = this.#rows.i32;
    const cache = this.#idsCache;
    if (cache !== undefined && cache.i32 === i32 && cache.offset === offset) return cache.view;
    const view = i32.subarray(offset >> 2, (offset >> 2) + this.#maxBatch());
    this.#idsCache = { i32, offset, view };
    return view;
  }

  #idsOffset(): number {
    return this.#rows.reserve(1, 2 * this.#maxBatch());
  }

  #outOffset(): number {
    return this.#idsOffset() + 4 * this.#maxBatch();
  }

  #maxBatch(): number {
    return this.#slots0 + 1;
  }

  #nextEpoch(): Uint16Array {
    if (++this.#epoch === 65_536) {
      this.#visited.fill(0);
      this.#epoch = 1;
    }
    return this.#visited;
  }

  #ensureCapacity(nodes: number): void {
    if (nodes <= this.#levels.length) return;
    const capacity = Math.max(nodes, this.#levels.length * 2, 16);
    this.#levels = grow(this.#levels, new Uint8Array(capacity));
    this.#counts0 = grow(this.#counts0, new Uint8Array(capacity));
    this.#links0 = grow(this.#links0, new Int32Array(capacity * this.#slots0));
    this.#visited = grow(this.#visited, new Uint16Array(capacity));
  }

  #accept(filter: VectorFilter | undefined): ((node: number) => boolean) | undefined {
    if (filter === undefined) return undefined;
    const entries = Object.entries(filter);
    const metadata = this.#metadata;
    return (node) => {
      const m = metadata[node];
      if (m === undefined) return false;
      for (const [key, value] of entries) if (m[key] !== value) return false;
      return true;
    };
  }

  #hits(best: TopK): VectorHit[] {
    return best.sorted().map(({ score, item }) => ({
      id: this.#ids[item]!,
      score,
      metadata: this.#metadata[item]!,
    }));
  }
}

/** Which nodes a layer search returns: every node, live ones, or live ones a filter accepts. */
type Accept = 'all' | 'live' | ((node: number) => boolean);

/** What the walk scores against: a u7 vector at byte offset `query`, with its scale. */
type Walk = { query: number; scale: number };

function grow<T extends Uint8Array | Uint16Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Small seeded PRNG for the level draw (reproducible builds); its state is saved with the graph. */
class Mulberry32 {
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
}

/** CRC-32 of a vector's float32 bytes: tells a restore whether a stored vector is a node's own. */
export function vectorHash(vector: Float32Array): number {
  return crc32(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
}

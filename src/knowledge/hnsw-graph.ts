import { AgentfleetError } from '../errors/index.ts';
import type { KnowledgeErrorCode } from './error-codes.ts';

/**
 * An `HnswIndex`'s graph as plain typed arrays, what `hnsw-graph-file.ts` writes to disk. The
 * vectors of live nodes are not in it (the knowledge base stores them beside its documents);
 * each live node carries the CRC-32 of its vector's float32 bytes instead, so a restore takes a
 * stored vector for a node only when it is the very vector the node was linked with.
 */
export interface HnswGraph {
  dimensions: number;
  /** Build options the links were made with (a restore needs the same). */
  m: number;
  efConstruction: number;
  seed: number;
  /** State of the level draw's PRNG, so inserts after a restore draw what they would have. */
  random: number;
  /** Nodes in the graph, live and tombstones; node i is row i. */
  nodes: number;
  entry: number;
  maxLevel: number;
  /** `nodes` top layers. */
  levels: Uint8Array;
  /** `nodes` layer-0 link counts. */
  counts0: Uint8Array;
  /** `nodes × slots0` layer-0 links (slots0 = 3m). */
  links0: Int32Array;
  /** For each node with a level above 0, in node order: per layer 1…level, [count, …(slotsUpper) links]. */
  upper: Int32Array;
  /** Id of each node; undefined for a tombstone. */
  ids: Array<string | undefined>;
  /** `nodes` CRC-32s of the live nodes' vectors (0 for tombstones). */
  hashes: Uint32Array;
  /** The vectors of the tombstones, in node order (the walk still passes through them). */
  tombstoneVectors: Float32Array;
}

/** What `HnswIndex.finishRestore` did with a restored graph. */
export interface HnswRestoreResult {
  /** Graph nodes whose stored vector came back: used as they were. */
  reused: number;
  /** Vectors that had no node with their id and hash: inserted into the graph now. */
  inserted: number;
  /** Graph nodes with no vector given back (deleted or changed since the save): now tombstones. */
  dropped: number;
  /** True when so many nodes had no vector that the graph was rebuilt from the live ones. */
  rebuilt: boolean;
}

/**
 * A saved HNSW graph that cannot be used: damaged, truncated, from another format version,
 * dimension, embedder or build options, or inconsistent. Reported (not thrown) by the knowledge
 * base, which then rebuilds the graph from the stored vectors.
 */
export class KnowledgeGraphInvalidError extends AgentfleetError<KnowledgeErrorCode> {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('KNOWLEDGE_GRAPH_INVALID', message, { details });
  }
}

/**
 * Checks that a graph is consistent (array lengths, links and entry in range, counts within the
 * slots, tombstone vectors for every tombstone), so a restore can trust it.
 * @throws KnowledgeGraphInvalidError
 */
export function checkGraph(graph: HnswGraph, slots0: number, slotsUpper: number): void {
  const n = graph.nodes;
  const fail = (why: string): never => {
    throw new KnowledgeGraphInvalidError(`The saved graph is inconsistent: ${why}.`);
  };
  if (!Number.isSafeInteger(n) || n < 0) fail(`node count ${n}`);
  if (graph.levels.length !== n || graph.counts0.length !== n || graph.hashes.length !== n) {
    fail('per-node arrays are not one entry per node');
  }
  if (graph.ids.length !== n) fail(`${graph.ids.length} ids for ${n} nodes`);
  if (graph.links0.length !== n * slots0) fail('layer-0 links are not the expected size');
  if (n === 0 ? graph.entry !== -1 : !(graph.entry >= 0 && graph.entry < n)) fail(`entry ${graph.entry}`);
  if (n > 0 && graph.maxLevel !== graph.levels[graph.entry]) fail('the entry is not on the top layer');
  let upperInts = 0;
  let tombstones = 0;
  const seen = new Set<string>();
  for (let node = 0; node < n; node++) {
    const level = graph.levels[node]!;
    if (level > graph.maxLevel) fail(`node ${node} is above the top layer`);
    upperInts += level * (slotsUpper + 1);
    const count = graph.counts0[node]!;
    if (count > slots0) fail(`node ${node} has ${count} links`);
    for (let i = node * slots0, end = i + count; i < end; i++) {
      const link = graph.links0[i]!;
      if (!(link >= 0 && link < n)) fail(`node ${node} links to ${link}`);
    }
    const id = graph.ids[node];
    if (id === undefined) tombstones++;
    else if (typeof id !== 'string' || seen.has(id)) fail(`node ${node} has a bad or repeated id`);
    else seen.add(id);
  }
  if (graph.upper.length !== upperInts) fail('upper-layer links are not the expected size');
  for (let node = 0, u = 0; node < n; node++) {
    for (let l = 1; l <= graph.levels[node]!; l++, u += slotsUpper + 1) {
      const count = graph.upper[u]!;
      if (!(count >= 0 && count <= slotsUpper)) fail(`node ${node} has ${count} links on layer ${l}`);
      for (let i = u + 1; i <= u + count; i++) {
        const link = graph.upper[i]!;
        // a link on layer l must reach a node that is on layer l
        if (!(link >= 0 && link < n && graph.levels[link]! >= l))
          fail(`node ${node} links to ${link} on layer ${l}`);
      }
    }
  }
  if (graph.tombstoneVectors.length !== tombstones * graph.dimensions) {
    fail(`${graph.tombstoneVectors.length} tombstone values for ${tombstones} tombstones`);
  }
  for (let i = 0; i < graph.tombstoneVectors.length; i++) {
    if (!Number.isFinite(graph.tombstoneVectors[i]!)) fail('a tombstone vector is not finite');
  }
}

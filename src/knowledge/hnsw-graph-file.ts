import { channel } from 'node:diagnostics_channel';
import { open, readFile, rename } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type HnswGraph, KnowledgeGraphInvalidError } from './hnsw-graph.ts';
import { HnswIndex, type HnswOptions } from './hnsw-index.ts';
import type { VectorIndex } from './vector-index.ts';

/** The graph file in a knowledge base's directory: every tenant's HNSW graph. */
export const GRAPH_FILE = 'hnsw.graph';
const MAGIC = Buffer.from('AFHNSWG\n', 'latin1');
/** Bump when the layout changes: a file of another version is ignored (and the graph rebuilt). */
const FORMAT_VERSION = 1;
/** magic, version, header length. */
const PREAMBLE = MAGIC.length + 8;

/** What a knowledge base reports about its saved HNSW graphs, on `knowledgeGraphChannel`. */
export type KnowledgeGraphEvent =
  /** The saved graphs were taken up on open (`inserted`: vectors linked since the save). */
  | {
      kind: 'loaded';
      directory: string;
      tenants: number;
      reused: number;
      inserted: number;
      dropped: number;
    }
  /** A saved graph could not be used (damaged, another embedder, …): rebuilt from the stored vectors. */
  | { kind: 'rejected'; directory: string; tenant: string | undefined; error: KnowledgeGraphInvalidError }
  | { kind: 'saved'; directory: string; tenants: number; nodes: number; bytes: number }
  /** Writing the graph failed; the documents are safe, the next open rebuilds what is missing. */
  | { kind: 'save-failed'; directory: string; error: unknown };

/** `node:diagnostics_channel` channel of `KnowledgeGraphEvent`s. */
export const knowledgeGraphChannel = channel('agentfleet:knowledge-graph');

const publish = (event: KnowledgeGraphEvent) => {
  if (knowledgeGraphChannel.hasSubscribers) knowledgeGraphChannel.publish(event);
};

/** What a graph file must have been written for. */
export interface GraphFileIdentity {
  dimensions: number;
  /** `Embedder.id`, or '' for an embedder without one. */
  embedder: string;
}

/**
 * The HNSW graphs of a knowledge base's directory: read on open (each tenant's restored into
 * an `HnswIndex` that its stored vectors then fill, see `HnswIndex.fromGraph`), written on
 * compaction and close. A file that is missing, damaged or made for another embedder, dimension
 * or build options is reported on `knowledgeGraphChannel` and the graph rebuilt, never thrown.
 */
export class HnswGraphStore {
  readonly #directory: string;
  readonly #identity: GraphFileIdentity;
  readonly #options: HnswOptions;
  /** Restored indexes not yet handed out, by tenant. */
  readonly #restored = new Map<string, HnswIndex>();
  readonly #handedOut: HnswIndex[] = [];
  #saving: Promise<void> = Promise.resolve();

  private constructor(directory: string, identity: GraphFileIdentity, options: HnswOptions) {
    this.#directory = directory;
    this.#identity = identity;
    this.#options = options;
  }

  /** Reads the directory's graph file, if any, into restored indexes. Never throws for the file's content. */
  static async open(
    directory: string,
    identity: GraphFileIdentity,
    options: HnswOptions = {},
  ): Promise<HnswGraphStore> {
    const store = new HnswGraphStore(directory, identity, options);
    let bytes: Buffer;
    try {
      bytes = await readFile(join(directory, GRAPH_FILE));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return store;
      throw error;
    }
    let graphs: Map<string, HnswGraph>;
    try {
      graphs = decodeGraphs(bytes, identity);
    } catch (error) {
      if (!(error instanceof KnowledgeGraphInvalidError)) throw error;
      publish({ kind: 'rejected', directory, tenant: undefined, error });
      return store;
    }
    for (const [tenant, graph] of graphs) {
      try {
        store.#restored.set(tenant, HnswIndex.fromGraph(graph, options));
      } catch (error) {
        if (!(error instanceof KnowledgeGraphInvalidError)) throw error;
        publish({ kind: 'rejected', directory, tenant, error });
      }
    }
    return store;
  }

  /** A new index for `tenant`: its restored graph when the file had one (once), else an empty one. */
  take(tenant: string): HnswIndex {
    const index = this.#restored.get(tenant);
    if (index === undefined) return new HnswIndex(this.#identity.dimensions, this.#options);
    this.#restored.delete(tenant);
    this.#handedOut.push(index);
    return index;
  }

  /** Ends the restores once every stored vector was given back; drops graphs of tenants with none. */
  finish(): void {
    const total = { reused: 0, inserted: 0, dropped: 0 };
    let tenants = 0;
    for (const index of this.#handedOut) {
      const result = index.finishRestore();
      tenants++;
      total.reused += result.reused;
      total.inserted += result.inserted;
      total.dropped += result.dropped;
    }
    this.#handedOut.length = 0;
    for (const index of this.#restored.values()) void index.close();
    this.#restored.clear();
    if (tenants > 0) publish({ kind: 'loaded', directory: this.#directory, tenants, ...total });
  }

  /**
   * Writes the graphs of the HNSW indexes among `indexes` (by tenant), atomically (temporary
   * file, fsync, rename). They are encoded at the call, so later changes are not in this save.
   * Saves run one at a time; a failure is reported, not thrown (the documents are not at risk).
   */
  save(indexes: ReadonlyMap<string, VectorIndex>): Promise<void> {
    const graphs = new Map<string, HnswGraph>();
    for (const [tenant, index] of indexes) {
      if (index instanceof HnswIndex) graphs.set(tenant, index.exportGraph());
    }
    const bytes = encodeGraphs(graphs, this.#identity);
    const nodes = [...graphs.values()].reduce((sum, g) => sum + g.nodes, 0);
    const directory = this.#directory;
    const run = this.#saving.then(async () => {
      try {
        await writeAtomically(directory, GRAPH_FILE, bytes);
        publish({ kind: 'saved', directory, tenants: graphs.size, nodes, bytes: bytes.length });
      } catch (error) {
        publish({ kind: 'save-failed', directory, error });
      }
    });
    this.#saving = run;
    return run;
  }
}

interface TenantHeader {
  tenant: string;
  m: number;
  efConstruction: number;
  nodes: number;
  entry: number;
  maxLevel: number;
  random: number;
  seed: number;
  upperInts: number;
  tombstoneValues: number;
  idsBytes: number;
}

interface FileHeader {
  byteOrder: 'LE';
  dimensions: number;
  embedder: string;
  tenants: TenantHeader[];
}

const LITTLE_ENDIAN = endianness() === 'LE';
const pad4 = (n: number) => (n + 3) & ~3;
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Layout: magic, u32 format version, u32 header length, the header (JSON: identity, build
 * options, per tenant the counts), then per tenant its arrays as raw little-endian typed arrays
 * (levels, layer-0 counts, layer-0 links, upper links, vector CRCs, tombstone vectors) and its
 * ids (JSON), each padded to 4 bytes; last, the CRC-32 of everything before it.
 */
export function encodeGraphs(graphs: ReadonlyMap<string, HnswGraph>, identity: GraphFileIdentity): Buffer {
  if (!LITTLE_ENDIAN)
    throw new KnowledgeGraphInvalidError('Graph files are written on little-endian machines only.');
  const sections: Uint8Array[] = [];
  const tenants: TenantHeader[] = [];
  for (const [tenant, g] of graphs) {
    const ids = Buffer.from(JSON.stringify(g.ids.map((id) => id ?? null)), 'utf8');
    tenants.push({
      tenant,
      m: g.m,
      efConstruction: g.efConstruction,
      nodes: g.nodes,
      entry: g.entry,
      maxLevel: g.maxLevel,
      random: g.random,
      seed: g.seed,
      upperInts: g.upper.length,
      tombstoneValues: g.tombstoneVectors.length,
      idsBytes: ids.length,
    });
    sections.push(
      bytesOf(g.levels),
      bytesOf(g.counts0),
      bytesOf(g.links0),
      bytesOf(g.upper),
      bytesOf(g.hashes),
      bytesOf(g.tombstoneVectors),
      ids,
    );
  }
  const header: FileHeader = {
    byteOrder: 'LE',
    dimensions: identity.dimensions,
    embedder: identity.embedder,
    tenants,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const size = pad4(PREAMBLE + headerBytes.length) + sections.reduce((sum, s) => sum + pad4(s.length), 0) + 4;
  const out = Buffer.alloc(size);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(FORMAT_VERSION, MAGIC.length);
  out.writeUInt32LE(headerBytes.length, MAGIC.length + 4);
  headerBytes.copy(out, PREAMBLE);
  let offset = pad4(PREAMBLE + headerBytes.length);
  for (const s of sections) {
    out.set(s, offset);
    offset += pad4(s.length);
  }
  out.writeUInt32LE(crc32(out.subarray(0, size - 4)), size - 4);
  return out;
}

/** Reads a graph file's graphs by tenant. @throws KnowledgeGraphInvalidError */
export function decodeGraphs(bytes: Uint8Array, identity: GraphFileIdentity): Map<string, HnswGraph> {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const invalid = (why: string, details: Record<string, unknown> = {}) =>
    new KnowledgeGraphInvalidError(
      `The saved HNSW graph ${why}; it is rebuilt from the stored vectors.`,
      details,
    );
  if (buffer.length < PREAMBLE + 4 || !buffer.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw invalid('is not a graph file');
  }
  const stored = buffer.readUInt32LE(buffer.length - 4);
  if (crc32(buffer.subarray(0, buffer.length - 4)) !== stored)
    throw invalid('is damaged or truncated (checksum)');
  const version = buffer.readUInt32LE(MAGIC.length);
  if (version !== FORMAT_VERSION)
    throw invalid(`has format version ${version}, not ${FORMAT_VERSION}`, { version });
  if (!LITTLE_ENDIAN) throw invalid('was written little-endian and this machine is not');
  const headerLength = buffer.readUInt32LE(MAGIC.length + 4);
  let header: FileHeader;
  try {
    header = JSON.parse(buffer.toString('utf8', PREAMBLE, PREAMBLE + headerLength)) as FileHeader;
  } catch {
    throw invalid('has an unreadable header');
  }
  if (typeof header !== 'object' || header === null) throw invalid('has an unreadable header');
  if (header.dimensions !== identity.dimensions || header.embedder !== identity.embedder) {
    throw invalid(
      `was made for ${header.dimensions} dimensions by embedder "${header.embedder}", not for ${identity.dimensions} dimensions by "${identity.embedder}"`,
      { graph: { dimensions: header.dimensions, embedder: header.embedder }, expected: identity },
    );
  }
  if (!Array.isArray(header.tenants)) throw invalid('has no tenant list');
  let offset = pad4(PREAMBLE + headerLength);
  const end = buffer.length - 4;
  /** A copy of the next section (copied: the file's bytes need not be aligned for the array). */
  const take = <T extends Uint8Array | Int32Array | Uint32Array | Float32Array>(
    make: { new (length: number): T; BYTES_PER_ELEMENT: number },
    length: number,
  ): T => {
    if (!Number.isSafeInteger(length) || length < 0) throw invalid('has a bad section length');
    const byteLength = length * make.BYTES_PER_ELEMENT;
    if (offset + byteLength > end) throw invalid('is shorter than its header says');
    const array = new make(length);
    bytesOf(array).set(buffer.subarray(offset, offset + byteLength));
    offset += pad4(byteLength);
    return array;
  };
  const graphs = new Map<string, HnswGraph>();
  for (const t of header.tenants) {
    const levels = take(Uint8Array, t.nodes);
    const counts0 = take(Uint8Array, t.nodes);
    const links0 = take(Int32Array, t.nodes * t.m * 3); // 3m slots per node (see HnswIndex)
    const upper = take(Int32Array, t.upperInts);
    const hashes = take(Uint32Array, t.nodes);
    const tombstoneVectors = take(Float32Array, t.tombstoneValues);
    const idBytes = take(Uint8Array, t.idsBytes);
    let ids: Array<string | undefined>;
    try {
      ids = (JSON.parse(Buffer.from(idBytes).toString('utf8')) as Array<string | null>).map(
        (id) => id ?? undefined,
      );
    } catch {
      throw invalid(`has unreadable ids for tenant "${t.tenant}"`);
    }
    graphs.set(String(t.tenant), {
      dimensions: header.dimensions,
      m: t.m,
      efConstruction: t.efConstruction,
      seed: t.seed,
      random: t.random,
      nodes: t.nodes,
      entry: t.entry,
      maxLevel: t.maxLevel,
      levels,
      counts0,
      links0,
      upper,
      ids,
      hashes,
      tombstoneVectors,
    });
  }
  if (offset !== end) throw invalid('holds more than its header says');
  return graphs;
}

async function writeAtomically(directory: string, name: string, bytes: Uint8Array): Promise<void> {
  const temporary = join(directory, `${name}.tmp`);
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(directory, name));
  if (process.platform === 'win32') return; // Windows cannot open a directory and needs no sync
  const dir = await open(directory, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

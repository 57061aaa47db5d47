import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { seededRandom } from '../../test/helpers.ts';
import type { Embedder } from '../llm/index.ts';
import {
  ExactIndex,
  HashingEmbedder,
  HnswIndex,
  KnowledgeBase,
  type KnowledgeGraphEvent,
  type Passage,
} from './index.ts';

const root = mkdtempSync(join(tmpdir(), 'af-graph-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `kb${++n}`);
const GRAPH = 'hnsw.graph';

const hashing = new HashingEmbedder({ dimensions: 64 });
const chunking = { maxChars: 60, overlapChars: 0 };
/** Words of 6–8 letters: a paragraph of six fills 41–53 characters, one chunk of at most 60. */
const WORDS =
  'router widget firmware antenna battery screen keyboard printer scanner charger speaker monitor'.split(' ');

/** A document of a few short chunks, made of words drawn from `random`. */
function text(random: () => number, chunks: number): string {
  return Array.from({ length: chunks }, () =>
    Array.from({ length: 6 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' '),
  ).join('\n\n');
}

const QUERIES = [
  'reset the router',
  'widget firmware',
  'battery screen charger',
  'printer speaker',
  'antenna',
];

async function answers(kb: KnowledgeBase, tenant = 'acme'): Promise<Passage[][]> {
  return Promise.all(QUERIES.map((q) => kb.search(tenant, q, 10)));
}

/** The graph events published while `fn` runs. */
async function events<T>(fn: () => Promise<T>): Promise<{ result: T; seen: KnowledgeGraphEvent[] }> {
  const seen: KnowledgeGraphEvent[] = [];
  const listener = (event: unknown) => seen.push(event as KnowledgeGraphEvent);
  subscribe('agentfleet:knowledge-graph', listener);
  try {
    return { result: await fn(), seen };
  } finally {
    unsubscribe('agentfleet:knowledge-graph', listener);
  }
}

/** A base in a new directory with `docs` documents for acme and a few for globex, closed. */
async function populate(docs: number, embedder: Embedder = hashing): Promise<string> {
  const directory = freshDir();
  const random = seededRandom(docs);
  const kb = await KnowledgeBase.open({ directory, embedder, index: 'hnsw', chunking });
  for (let i = 0; i < docs; i++) await kb.upsert({ tenant: 'acme', id: `d${i}`, text: text(random, 4) });
  for (let i = 0; i < 5; i++) await kb.upsert({ tenant: 'globex', id: `g${i}`, text: text(random, 2) });
  await kb.compact();
  await kb.close();
  return directory;
}

const open = (directory: string, embedder: Embedder = hashing) =>
  KnowledgeBase.open({ directory, embedder, index: 'hnsw', chunking });

describe('saved HNSW graph (KnowledgeBase with index "hnsw")', () => {
  it('reopens from the saved graph, answering exactly as before closing', async () => {
    const directory = freshDir();
    const random = seededRandom(1);
    const first = await events(async () => {
      const kb = await open(directory);
      for (let i = 0; i < 120; i++) await kb.upsert({ tenant: 'acme', id: `d${i}`, text: text(random, 4) });
      await kb.upsert({ tenant: 'globex', id: 'g', text: 'globex router manual' });
      await kb.delete('acme', 'd3');
      await kb.upsert({ tenant: 'acme', id: 'd4', text: text(random, 3) }); // replaced: tombstones
      const before = { acme: await answers(kb), globex: await answers(kb, 'globex') };
      await kb.close();
      await kb.close(); // a second close saves nothing (its indexes are gone)
      return before;
    });
    assert.ok(first.seen.some((e) => e.kind === 'saved' && e.tenants === 2));
    assert.ok(existsSync(join(directory, GRAPH)));
    const { result: kb, seen } = await events(() => open(directory));
    try {
      const loaded = seen.find((e) => e.kind === 'loaded');
      assert.ok(loaded, `a loaded event, got ${JSON.stringify(seen.map((e) => e.kind))}`);
      assert.equal(loaded.tenants, 2);
      assert.equal(loaded.inserted, 0, 'nothing was linked again');
      assert.equal(loaded.dropped, 0);
      assert.equal(loaded.reused, 120 * 4 - 4 - 4 + 3 + 1, 'every live chunk came from the graph');
      assert.deepEqual(await answers(kb), first.result.acme);
      assert.deepEqual(await answers(kb, 'globex'), first.result.globex);
      assert.ok(!JSON.stringify(await answers(kb)).includes('"documentId":"d3"'), 'deleted stays deleted');
    } finally {
      await kb.close();
    }
  });

  it('applies what changed after the last save: new, replaced and deleted documents', async () => {
    const directory = await populate(80);
    const stale = join(root, `stale${n}.graph`);
    copyFileSync(join(directory, GRAPH), stale);
    const random = seededRandom(99);
    let kb = await open(directory);
    for (let i = 0; i < 20; i++) await kb.upsert({ tenant: 'acme', id: `new${i}`, text: text(random, 3) });
    for (let i = 0; i < 10; i++) await kb.delete('acme', `d${i}`);
    await kb.upsert({ tenant: 'acme', id: 'd50', text: 'the unique zebra manual' });
    await kb.upsert({ tenant: 'acme', id: 'new0', text: 'the quick giraffe guide' });
    await kb.close();
    copyFileSync(stale, join(directory, GRAPH)); // as if the process had died before closing
    const { result, seen } = await events(() => open(directory));
    kb = result;
    try {
      const loaded = seen.find((e) => e.kind === 'loaded');
      assert.ok(loaded);
      assert.equal(loaded.inserted, 19 * 3 + 1 + 1, 'the vectors added since the save were linked');
      assert.equal(loaded.dropped, 10 * 4 + 4, 'nodes of deleted and replaced documents are tombstones');
      assert.equal((await kb.search('acme', 'the unique zebra manual', 1))[0]!.documentId, 'd50');
      assert.equal((await kb.search('acme', 'the quick giraffe guide', 1))[0]!.documentId, 'new0');
      const got = await Promise.all(QUERIES.map((q) => kb.search('acme', q, 10)));
      await kb.close();
      // the same documents, searched exactly
      const reference = await KnowledgeBase.open({ directory, embedder: hashing, chunking });
      for (const [i, q] of QUERIES.entries()) {
        const want = await reference.search('acme', q, 10);
        assert.ok(
          got[i]!.every((p) => !/^d[0-9]$/.test(p.documentId)),
          'deleted documents are never returned',
        );
        const ids = new Set(want.map((p) => `${p.documentId}#${p.chunk}`));
        const found = got[i]!.filter((p) => ids.has(`${p.documentId}#${p.chunk}`)).length;
        assert.ok(found >= 9, `recall@10 ${found}/10 for "${q}"`);
      }
      await reference.close();
    } finally {
      await kb.close();
    }
  });

  for (const [name, damage] of [
    ['a flipped byte', (b: Buffer) => b.map((x, i) => (i === b.length >> 1 ? x ^ 0x40 : x))],
    ['a truncated file', (b: Buffer) => b.subarray(0, Math.floor(b.length * 0.6))],
    ['an empty file', () => Buffer.alloc(0)],
  ] as const) {
    it(`rebuilds from the stored vectors after ${name}, with a typed event`, async () => {
      const directory = await populate(60);
      let kb = await open(directory);
      const before = await answers(kb);
      await kb.close();
      writeFileSync(join(directory, GRAPH), damage(readFileSync(join(directory, GRAPH))));
      const { result, seen } = await events(() => open(directory));
      kb = result;
      try {
        const rejected = seen.find((e) => e.kind === 'rejected');
        assert.ok(rejected, `rejected, got ${JSON.stringify(seen)}`);
        assert.equal(rejected.error.code, 'KNOWLEDGE_GRAPH_INVALID');
        assert.ok(!seen.some((e) => e.kind === 'loaded'));
        // replayed in the order it was built, the rebuilt graph is the same graph
        assert.deepEqual(await answers(kb), before);
      } finally {
        await kb.close();
      }
      const { seen: again } = await events(async () => (await open(directory)).close());
      assert.ok(
        again.some((e) => e.kind === 'loaded'),
        'the close saved a good graph again',
      );
    });
  }

  it('ignores a graph saved for another embedder or dimension', async () => {
    const directory = await populate(30);
    const renamed: Embedder = { dimensions: 64, id: 'another:embedder', embed: (t) => hashing.embed(t) };
    const { result: kb1, seen } = await events(() => open(directory, renamed));
    await kb1.close(); // saves a graph for `renamed`
    const rejected = seen.find((e) => e.kind === 'rejected');
    assert.ok(rejected);
    assert.match(rejected.error.message, /another:embedder/);
    const narrow = new HashingEmbedder({ dimensions: 32 });
    const { result: kb2, seen: seen2 } = await events(() => open(directory, narrow));
    try {
      assert.ok(seen2.some((e) => e.kind === 'rejected' && /32 dimensions/.test(e.error.message)));
      assert.equal((await kb2.search('acme', 'router', 3)).length, 3);
    } finally {
      await kb2.close();
    }
  });
  it('reports a graph it cannot write, and still closes', async () => {
    const directory = freshDir();
    const kb = await open(directory);
    await kb.upsert({ tenant: 'acme', id: 'a', text: 'router manual' });
    rmSync(directory, { recursive: true, force: true });
    const { seen } = await events(() => kb.close());
    const failed = seen.find((e) => e.kind === 'save-failed');
    assert.ok(failed, `save-failed, got ${JSON.stringify(seen.map((e) => e.kind))}`);
    assert.equal((failed.error as { code?: string }).code, 'ENOENT');
  });
});

describe('HnswIndex.fromGraph', () => {
  const d = 24;
  const random = seededRandom(3);
  const vectors = Array.from({ length: 900 }, () => {
    const v = Float32Array.from({ length: d }, () => random() * 2 - 1);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });

  it('continues as the saved index would have: same graph after the same later inserts', () => {
    const a = new HnswIndex(d, { m: 8, efConstruction: 64 });
    vectors.slice(0, 600).forEach((v, i) => {
      a.upsert(`v${i}`, v, { tenant: 't' });
    });
    a.delete('v7');
    a.upsert('v8', vectors[899]!, { tenant: 't' });
    const graph = structuredClone(a.exportGraph());
    vectors.slice(600, 800).forEach((v, i) => {
      a.upsert(`v${600 + i}`, v, { tenant: 't' });
    });

    const b = HnswIndex.fromGraph(graph, { m: 8, efConstruction: 64 });
    // given back in another order, as a replay would
    for (let i = 599; i >= 0; i--)
      if (i !== 7) b.upsert(`v${i}`, i === 8 ? vectors[899]! : vectors[i]!, { tenant: 't' });
    assert.deepEqual(b.finishRestore(), { reused: 599, inserted: 0, dropped: 0, rebuilt: false });
    vectors.slice(600, 800).forEach((v, i) => {
      b.upsert(`v${600 + i}`, v, { tenant: 't' });
    });
    assert.deepEqual(b.exportGraph(), a.exportGraph());
    for (const q of vectors.slice(800, 820)) assert.deepEqual(b.search(q, 10), a.search(q, 10));
  });

  it('rebuilds when most nodes get no vector back, and refuses other build options', () => {
    const a = new HnswIndex(d);
    vectors.slice(0, 400).forEach((v, i) => {
      a.upsert(`v${i}`, v, { tenant: 't' });
    });
    const b = HnswIndex.fromGraph(structuredClone(a.exportGraph()));
    vectors.slice(0, 100).forEach((v, i) => {
      b.upsert(`v${i}`, v, { tenant: 't' });
    });
    b.upsert('other', vectors[500]!, { tenant: 't' });
    const result = b.finishRestore();
    assert.equal(result.rebuilt, true);
    assert.equal(b.size, 101);
    assert.equal(b.tombstones, 0);
    const exact = new ExactIndex(d);
    vectors.slice(0, 100).forEach((v, i) => {
      exact.upsert(`v${i}`, v, { tenant: 't' });
    });
    exact.upsert('other', vectors[500]!, { tenant: 't' });
    for (const q of vectors.slice(800, 810)) {
      assert.deepEqual(
        b.search(q, 5).map((h) => h.id),
        exact.search(q, 5).map((h) => h.id),
      );
    }
    assert.throws(
      () => HnswIndex.fromGraph(a.exportGraph(), { m: 12 }),
      (e: { code?: string }) => e.code === 'KNOWLEDGE_GRAPH_INVALID',
    );
    const broken = structuredClone(a.exportGraph());
    broken.links0[5] = 10_000;
    broken.counts0[1] = 48;
    assert.throws(
      () => HnswIndex.fromGraph(broken),
      (e: { code?: string }) => e.code === 'KNOWLEDGE_GRAPH_INVALID',
    );
  });
});

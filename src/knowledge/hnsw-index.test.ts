import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom, throwsWithCode } from '../../test/helpers.ts';
import { ExactIndex, HnswIndex, type VectorIndex } from './index.ts';

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

/** Normalised vectors around `clusters` random centres (cosine to the centre about 0.7). */
function clustered(seed: number, n: number, d: number, clusters: number): Float32Array[] {
  const random = seededRandom(seed);
  const centres = Array.from({ length: clusters }, () =>
    Float32Array.from({ length: d }, () => gaussian(random)),
  );
  return Array.from({ length: n }, () => {
    const centre = centres[Math.floor(random() * clusters)]!;
    const v = Float32Array.from({ length: d }, (_, j) => centre[j]! + gaussian(random));
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

function recallAt10(approximate: VectorIndex, exact: VectorIndex, queries: Float32Array[]): number {
  let found = 0;
  for (const q of queries) {
    const truth = new Set(exact.search(q, 10).map((h) => h.id));
    found += approximate.search(q, 10).filter((h) => truth.has(h.id)).length;
  }
  return found / (queries.length * 10);
}

describe('HnswIndex', () => {
  const d = 64;
  const vectors = clustered(11, 4000, d, 40);
  const queries = clustered(12, 100, d, 40);

  it('finds ≥ 95% of the exact top 10 on clustered data, with exact scores', () => {
    const exact = new ExactIndex(d);
    const hnsw = new HnswIndex(d, { m: 16, efConstruction: 100, efSearch: 128 });
    vectors.forEach((v, i) => {
      exact.upsert(`v${i}`, v, { tenant: 't' });
      hnsw.upsert(`v${i}`, v, { tenant: 't' });
    });
    const recall = recallAt10(hnsw, exact, queries);
    assert.ok(recall >= 0.95, `recall@10 ${recall}`);
    const hit = hnsw.search(queries[0]!, 1)[0]!;
    const score = vectors[Number(hit.id.slice(1))]!.reduce((s, x, j) => s + x * queries[0]![j]!, 0);
    assert.ok(Math.abs(hit.score - score) < 1e-9, 'scores are re-computed exactly');
    hnsw.efSearch = 1;
    assert.ok(recallAt10(hnsw, exact, queries) < recall, 'efSearch trades recall for speed');
  });

  it('keeps its recall through deletes, replacements and the rebuild they trigger', () => {
    const exact = new ExactIndex(d);
    const hnsw = new HnswIndex(d, { efConstruction: 100, efSearch: 128 });
    vectors.forEach((v, i) => {
      exact.upsert(`v${i}`, v, { tenant: 't' });
      hnsw.upsert(`v${i}`, v, { tenant: 't' });
    });
    const random = seededRandom(5);
    let deleted = 0;
    for (let i = 0; i < 6000; i++) {
      const id = `v${Math.floor(random() * vectors.length)}`;
      if (random() < 0.9) {
        const removed = exact.delete(id);
        assert.equal(hnsw.delete(id), removed);
        if (removed) deleted++;
      } else {
        const v = vectors[Math.floor(random() * vectors.length)]!;
        hnsw.upsert(id, v, { tenant: 't' });
        exact.upsert(id, v, { tenant: 't' });
      }
    }
    assert.equal(hnsw.size, exact.size);
    assert.ok(hnsw.tombstones < deleted && hnsw.tombstones <= Math.max(1024, hnsw.size), 'rebuilt');
    const recall = recallAt10(hnsw, exact, queries);
    assert.ok(recall >= 0.95, `recall@10 ${recall}`);
    for (const q of queries.slice(0, 10)) {
      for (const hit of hnsw.search(q, 10))
        assert.ok(exact.search(q, exact.size).some((h) => h.id === hit.id));
    }
  });

  it('never returns a tombstone, nor fails, when deletes and replacements leave few live nodes', () => {
    // m 2 and heavy churn: layers full of tombstones, which linking used to skip (a new node got
    // no links, or a stale entry, and the exact fallback of a short walk returned tombstones)
    for (let seed = 1; seed <= 5; seed++) {
      const random = seededRandom(seed);
      const index = new HnswIndex(4, { m: 2, efConstruction: 4, efSearch: 1 });
      const live = new Set<string>();
      for (let step = 0; step < 300; step++) {
        const id = `v${Math.floor(random() * 60)}`;
        if (random() < 0.4) assert.equal(index.delete(id), live.delete(id));
        else {
          index.upsert(
            id,
            Float32Array.from({ length: 4 }, () => random() * 2 - 1),
            { tenant: 't' },
          );
          live.add(id);
        }
        const hits = index.search(
          Float32Array.from({ length: 4 }, () => random() * 2 - 1),
          live.size + 3,
        );
        assert.deepEqual(hits.map((h) => h.id).sort(), [...live].sort(), `seed ${seed}, step ${step}`);
      }
    }
  });

  it('answers a small tenant exactly even when the walk meets few of its vectors', () => {
    const exact = new ExactIndex(d);
    const hnsw = new HnswIndex(d, { efSearch: 16 });
    vectors.forEach((v, i) => {
      const tenant = i % 200 === 0 ? 'small' : 'big';
      exact.upsert(`v${i}`, v, { tenant });
      hnsw.upsert(`v${i}`, v, { tenant });
    });
    for (const q of queries.slice(0, 10)) {
      assert.deepEqual(
        hnsw.search(q, 10, { tenant: 'small' }).map((h) => h.id),
        exact.search(q, 10, { tenant: 'small' }).map((h) => h.id),
      );
    }
  });

  it('builds the same graph from the same seed, and refuses bad options', () => {
    const a = new HnswIndex(d, { seed: 7 });
    const b = new HnswIndex(d, { seed: 7 });
    vectors.slice(0, 500).forEach((v, i) => {
      a.upsert(`v${i}`, v, { tenant: 't' });
      b.upsert(`v${i}`, v, { tenant: 't' });
    });
    for (const q of queries.slice(0, 5)) assert.deepEqual(a.search(q, 10), b.search(q, 10));
    throwsWithCode(() => new HnswIndex(d, { m: 1 }), 'INVALID_OPTIONS');
    throwsWithCode(() => new HnswIndex(d, { efSearch: 0 }), 'INVALID_OPTIONS');
    throwsWithCode(() => new HnswIndex(d, { nope: 1 } as never), 'INVALID_OPTIONS');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileKernels, renderKernelsModule } from '../../scripts/build-wasm.ts';
import { seededRandom } from '../../test/helpers.ts';
import { ExactIndex } from './index.ts';
import { KERNELS_WASM_BASE64 } from './simd/kernels.wasm.ts';

/** Float64 brute force: the reference every exact search must equal. */
function bruteForce(
  rows: Float32Array[],
  query: Float32Array,
  k: number,
): Array<{ id: string; score: number }> {
  return rows
    .map((row, i) => {
      let s = 0;
      for (let j = 0; j < row.length; j++) s += row[j]! * query[j]!;
      return { id: `v${i}`, score: s };
    })
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

function dataset(
  seed: number,
  n: number,
  d: number,
  shape: 'normalised' | 'raw' | 'near-duplicates' | 'sparse',
): Float32Array[] {
  const random = seededRandom(seed);
  const base = Float32Array.from({ length: d }, () => gaussian(random));
  return Array.from({ length: n }, () => {
    const v = Float32Array.from({ length: d }, (_, j) => {
      if (shape === 'near-duplicates') return base[j]! + gaussian(random) * 1e-3;
      if (shape === 'sparse') return random() < 0.05 ? gaussian(random) : 0;
      return gaussian(random) * (shape === 'raw' ? 1 + 100 * random() : 1);
    });
    if (shape !== 'raw') {
      const norm = Math.hypot(...v) || 1;
      for (let j = 0; j < d; j++) v[j]! /= norm;
    }
    return v;
  });
}

describe('ExactIndex (int8 SIMD scan with proven bounds, float re-scoring)', () => {
  for (const [shape, d] of [
    ['normalised', 768],
    ['normalised', 5],
    ['raw', 33],
    ['near-duplicates', 64],
    ['sparse', 100],
  ] as const) {
    it(`equals a float64 brute force: ${shape} vectors, ${d} dimensions`, () => {
      const rows = dataset(d, 1500, d, shape);
      const index = new ExactIndex(d, { initialCapacity: 8 });
      rows.forEach((row, i) => {
        index.upsert(`v${i}`, row, { tenant: 't' });
      });
      const queries = dataset(d + 1, 20, d, shape === 'raw' ? 'raw' : 'normalised');
      const batched = index.searchBatch(queries, 10);
      queries.forEach((query, q) => {
        const expected = bruteForce(rows, query, 10);
        for (const hits of [index.search(query, 10), batched[q]!]) {
          assert.deepEqual(
            hits.map((h) => h.id),
            expected.map((e) => e.id),
          );
          hits.forEach((h, i) => {
            assert.ok(Math.abs(h.score - expected[i]!.score) < 1e-9);
          });
        }
      });
    });
  }

  it('splits scans across threads with the same results, and stops them on close()', async () => {
    const d = 24;
    const rows = dataset(5, 40_000, d, 'normalised');
    const single = new ExactIndex(d);
    const threaded = new ExactIndex(d, { threads: 3 });
    rows.forEach((row, i) => {
      single.upsert(`v${i}`, row, { tenant: i % 2 === 0 ? 'a' : 'b' });
      threaded.upsert(`v${i}`, row, { tenant: i % 2 === 0 ? 'a' : 'b' });
    });
    const queries = dataset(6, 30, d, 'normalised');
    assert.deepEqual(threaded.searchBatch(queries, 10), single.searchBatch(queries, 10));
    for (const q of queries.slice(0, 5)) {
      assert.deepEqual(threaded.search(q, 10, { tenant: 'b' }), single.search(q, 10, { tenant: 'b' }));
      assert.deepEqual(
        threaded.search(q, 10).map((h) => h.id),
        bruteForce(rows, q, 10).map((h) => h.id),
      );
    }
    threaded.delete('v0');
    threaded.upsert('late', queries[0]!, { tenant: 'a' });
    assert.equal(threaded.search(queries[0]!, 1)[0]!.id, 'late', 'sees rows added after the threads started');
    assert.equal(threaded.scanThreads, 2);
    await threaded.close();
    await single.close();
    assert.equal(threaded.scanThreads, 0, 'no thread left behind');
    assert.deepEqual(threaded.search(queries[1]!, 3), single.search(queries[1]!, 3), 'works on after close');
    assert.throws(() => new ExactIndex(d, { threads: 0 }), /threads/);
  });

  it('handles zero vectors and extreme magnitudes', () => {
    const index = new ExactIndex(4);
    index.upsert('zero', new Float32Array(4), { tenant: 't' });
    index.upsert('huge', Float32Array.of(1e30, -1e30, 0, 1), { tenant: 't' });
    index.upsert('tiny', Float32Array.of(1e-30, 0, 0, 0), { tenant: 't' });
    const hits = index.search(Float32Array.of(1, 0, 0, 0), 3);
    assert.deepEqual(
      hits.map((h) => h.id),
      ['huge', 'tiny', 'zero'],
    );
    assert.equal(index.search(new Float32Array(4), 1)[0]!.score, 0);
  });

  it('ships the kernels compiled from kernels.wat (run scripts/build-wasm.ts after editing it)', async () => {
    assert.equal(renderKernelsModule(await compileKernels()).includes(KERNELS_WASM_BASE64), true);
  });
});

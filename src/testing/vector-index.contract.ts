// The behaviour every VectorIndex must show. Run by knowledge/vector-index.test.ts for ExactIndex
// and HnswIndex (built and restored from a saved graph); a third-party index can run it too.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { VectorHit, VectorIndex, VectorMetadata } from '../knowledge/index.ts';
import { throwsWithCode } from './assertions.ts';
import { seededRandom } from './seeded-random.ts';

export interface VectorIndexContractOptions {
  /** A new, empty index of `dimensions`. */
  make: (dimensions: number) => VectorIndex;
  /**
   * `exact`: every search equals a float64 brute force (ids in order, scores within 1e-9).
   * A number: the least recall@10 against that brute force on a few thousand small vectors
   * (scores must still be the exact inner products, best first).
   */
  accuracy: 'exact' | number;
  skip?: string | undefined;
}

const TENANTS = ['acme', 'globex', 'initech'];

function unit(random: () => number, d: number): Float32Array {
  const v = Float32Array.from({ length: d }, () => random() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j]! * b[j]!;
  return s;
};

/** What the index should hold: the reference every search is checked against. */
class Model {
  readonly rows = new Map<string, { vector: Float32Array; metadata: VectorMetadata }>();

  top(
    query: Float32Array,
    k: number,
    filter?: Partial<VectorMetadata>,
  ): Array<{ id: string; score: number }> {
    const hits: Array<{ id: string; score: number }> = [];
    for (const [id, { vector, metadata }] of this.rows) {
      if (filter !== undefined && Object.entries(filter).some(([key, value]) => metadata[key] !== value))
        continue;
      hits.push({ id, score: dot(vector, query) });
    }
    return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1)).slice(0, k);
  }
}

/**
 * Registers, with `node:test`, the suite every `VectorIndex` must pass: upsert (replacing a
 * known id), delete and search checked against a float64 brute force (exactly, or to at least
 * the given recall@10), metadata filters, `VECTOR_INVALID` for a wrong length or a non-finite
 * value, and `close()`. Deterministic: the vectors come from a seeded PRNG.
 * @param name shown in the suite's title.
 */
export function vectorIndexContract(name: string, options: VectorIndexContractOptions): void {
  describe(`vector index contract: ${name}`, { skip: options.skip }, () => {
    const made: VectorIndex[] = [];
    const make = (d: number) => {
      const index = options.make(d);
      made.push(index);
      return index;
    };
    after(async () => {
      await Promise.all(made.map((index) => index.close?.()));
    });

    /** Checks `hits` against the model: exact ids and scores, or the recall bound; returns the recall. */
    const check = (
      model: Model,
      hits: VectorHit[],
      query: Float32Array,
      k: number,
      filter?: Partial<VectorMetadata>,
    ): number => {
      const want = model.top(query, k, filter);
      for (let i = 0; i < hits.length; i++) {
        const hit = hits[i]!;
        const row = model.rows.get(hit.id);
        assert.ok(row !== undefined, `hit "${hit.id}" is not in the index (deleted or never added)`);
        assert.ok(
          Math.abs(hit.score - dot(row.vector, query)) < 1e-6,
          `score of "${hit.id}" is its inner product`,
        );
        assert.deepEqual(hit.metadata, row.metadata);
        if (i > 0) assert.ok(hit.score <= hits[i - 1]!.score, 'best first');
        if (filter !== undefined) {
          for (const [key, value] of Object.entries(filter)) assert.equal(hit.metadata[key], value);
        }
      }
      assert.equal(new Set(hits.map((h) => h.id)).size, hits.length, 'no id twice');
      assert.equal(hits.length, want.length, `${want.length} hits (k ${k}, ${model.rows.size} held)`);
      if (options.accuracy === 'exact') {
        assert.deepEqual(
          hits.map((h) => h.id),
          want.map((w) => w.id),
        );
        for (const [i, h] of hits.entries()) assert.ok(Math.abs(h.score - want[i]!.score) < 1e-9);
        return 1;
      }
      const ids = new Set(want.map((w) => w.id));
      return want.length === 0 ? 1 : hits.filter((h) => ids.has(h.id)).length / want.length;
    };

    it('is empty at first: size 0, no hits for any k, nothing to delete', () => {
      const index = make(8);
      assert.equal(index.dimensions, 8);
      assert.equal(index.size, 0);
      const q = unit(seededRandom(1), 8);
      for (const k of [0, 1, 10, 1000]) assert.deepEqual(index.search(q, k), []);
      assert.deepEqual(index.search(q, 5, { tenant: 'acme' }), []);
      assert.equal(index.delete('nope'), false);
    });

    it('holds one vector: found for any k ≥ 1, with its score and metadata', () => {
      const index = make(3);
      index.upsert('a', Float32Array.of(0.6, 0.8, 0), { tenant: 'acme', title: 'one' });
      assert.equal(index.size, 1);
      for (const k of [1, 2, 50]) {
        const hits = index.search(Float32Array.of(1, 0, 0), k);
        assert.equal(hits.length, 1);
        assert.equal(hits[0]!.id, 'a');
        assert.ok(Math.abs(hits[0]!.score - 0.6) < 1e-6);
        assert.deepEqual(hits[0]!.metadata, { tenant: 'acme', title: 'one' });
      }
      assert.deepEqual(index.search(Float32Array.of(1, 0, 0), 0), []);
      assert.deepEqual(index.search(Float32Array.of(1, 0, 0), 3, { tenant: 'globex' }), []);
    });

    it('replaces on upsert of a known id, removes on delete (once), never returns what was removed', () => {
      const index = make(3);
      index.upsert('a', Float32Array.of(1, 0, 0), { tenant: 't' });
      index.upsert('b', Float32Array.of(0, 1, 0), { tenant: 't' });
      index.upsert('c', Float32Array.of(0, 0, 1), { tenant: 'u' });
      index.upsert('a', Float32Array.of(0, 0.6, 0.8), { tenant: 't', v: 2 });
      assert.equal(index.size, 3);
      const top = index.search(Float32Array.of(0, 0.6, 0.8), 1)[0]!;
      assert.equal(top.id, 'a');
      assert.ok(Math.abs(top.score - 1) < 1e-6);
      assert.equal(top.metadata.v, 2);
      assert.ok(Math.abs(index.search(Float32Array.of(1, 0, 0), 3).find((h) => h.id === 'a')!.score) < 1e-6);
      assert.deepEqual(
        index.search(Float32Array.of(0, 0, 1), 5, { tenant: 't' }).map((h) => h.id),
        ['a', 'b'],
      );
      assert.equal(index.delete('a'), true);
      assert.equal(index.delete('a'), false);
      assert.equal(index.size, 2);
      assert.deepEqual(
        index.search(Float32Array.of(0, 0, 1), 5).map((h) => h.id),
        ['c', 'b'],
      );
      assert.equal(index.delete('b'), true);
      assert.equal(index.delete('c'), true);
      assert.equal(index.size, 0);
      assert.deepEqual(index.search(Float32Array.of(0, 0, 1), 5), []);
    });

    it('refuses vectors of the wrong length or with non-finite values (VECTOR_INVALID), changing nothing', () => {
      const index = make(3);
      index.upsert('a', Float32Array.of(1, 0, 0), { tenant: 't' });
      throwsWithCode(() => index.upsert('x', Float32Array.of(1, 2), { tenant: 't' }), 'VECTOR_INVALID');
      throwsWithCode(() => index.upsert('x', Float32Array.of(1, 2, 3, 4), { tenant: 't' }), 'VECTOR_INVALID');
      throwsWithCode(
        () => index.upsert('x', Float32Array.of(1, Number.NaN, 0), { tenant: 't' }),
        'VECTOR_INVALID',
      );
      throwsWithCode(
        () => index.upsert('a', Float32Array.of(Number.POSITIVE_INFINITY, 0, 0), { tenant: 't' }),
        'VECTOR_INVALID',
      );
      throwsWithCode(
        () => index.upsert('x', [1, 0, 0] as unknown as Float32Array, { tenant: 't' }),
        'VECTOR_INVALID',
      );
      throwsWithCode(() => index.search(new Float32Array(4), 1), 'VECTOR_INVALID');
      throwsWithCode(() => index.search(Float32Array.of(0, Number.NaN, 0), 1), 'VECTOR_INVALID');
      assert.equal(index.size, 1);
      const hits = index.search(Float32Array.of(1, 0, 0), 5);
      assert.deepEqual(
        hits.map((h) => [h.id, Math.round(h.score * 1e6) / 1e6]),
        [['a', 1]],
        'the refused replacement of "a" left it as it was',
      );
    });

    it('scopes searches by filter (tenant and other metadata), and returns all matches when k exceeds them', () => {
      const d = 16;
      const random = seededRandom(2);
      const index = make(d);
      const model = new Model();
      for (let i = 0; i < 300; i++) {
        const metadata: VectorMetadata = {
          tenant: TENANTS[i % 3]!,
          kind: i % 2 === 0 ? 'even' : 'odd',
          n: i % 5,
        };
        const vector = unit(random, d);
        index.upsert(`v${i}`, vector, metadata);
        model.rows.set(`v${i}`, { vector, metadata });
      }
      const q = unit(random, d);
      for (const filter of [
        { tenant: 'globex' },
        { tenant: 'acme', kind: 'odd' },
        { n: 3 },
        { kind: 'even', n: 4 },
      ]) {
        const recall = check(model, index.search(q, 10, filter), q, 10, filter);
        assert.ok(
          options.accuracy === 'exact' || recall >= options.accuracy,
          `recall ${recall} with ${JSON.stringify(filter)}`,
        );
        // k beyond the matches: every match, exactly (e.g. 300 / 3 / 2 for tenant and kind)
        check(model, index.search(q, 1000, filter), q, 1000, filter);
      }
      assert.deepEqual(index.search(q, 10, { tenant: 'nobody' }), []);
      assert.deepEqual(index.search(q, 10, { tenant: 'acme', kind: 'none' }), []);
      check(model, index.search(q, 500), q, 500);
    });

    it(`answers ${options.accuracy === 'exact' ? 'exactly' : `with recall@10 ≥ ${options.accuracy}`} through upserts, replacements and deletes`, () => {
      const d = 32;
      const random = seededRandom(3);
      const index = make(d);
      const model = new Model();
      let recall = 0;
      let searches = 0;
      for (let step = 0; step < 3000; step++) {
        const id = `v${Math.floor(random() * 1500)}`;
        if (random() < 0.25) {
          assert.equal(index.delete(id), model.rows.delete(id), `delete ${id}`);
        } else {
          const metadata: VectorMetadata = { tenant: TENANTS[Math.floor(random() * 3)]! };
          const vector = unit(random, d);
          index.upsert(id, vector, metadata);
          model.rows.set(id, { vector, metadata });
        }
        if (step % 250 === 249) {
          assert.equal(index.size, model.rows.size);
          for (let i = 0; i < 5; i++) {
            const q = unit(random, d);
            const filter = i === 0 ? { tenant: 'initech' } : undefined;
            recall += check(model, index.search(q, 10, filter), q, 10, filter);
            searches++;
          }
          // k beyond what is held: every live vector (of the tenant), none deleted
          const q = unit(random, d);
          check(model, index.search(q, model.rows.size + 10, { tenant: 'acme' }), q, model.rows.size + 10, {
            tenant: 'acme',
          });
        }
      }
      recall /= searches;
      if (options.accuracy !== 'exact') assert.ok(recall >= options.accuracy, `recall@10 ${recall}`);
    });

    it('close() resolves, and so does a second close()', async () => {
      const index = make(4);
      index.upsert('a', Float32Array.of(0, 0, 0, 1), { tenant: 't' });
      await index.close?.();
      await index.close?.();
    });
  });
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom, throwsWithCode } from '../../test/helpers.ts';
import { ExactIndex, HashingEmbedder, KnowledgeBase } from './index.ts';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('HashingEmbedder', () => {
  const embedder = new HashingEmbedder({ dimensions: 512 });

  it('embeds a large batch on a worker thread, so the event loop runs meanwhile; close() ends it', async () => {
    const big = new HashingEmbedder({ dimensions: 64, offloadChars: 10_000 });
    const texts = Array.from({ length: 40 }, (_, i) =>
      `Paragraph ${i} about widget calibration. `.repeat(10),
    );
    let ranMeanwhile = false;
    setImmediate(() => {
      ranMeanwhile = true;
    });
    const vectors = await big.embed(texts);
    assert.ok(ranMeanwhile, 'a callback queued after the call ran before the batch finished');
    assert.equal(big.threads, 1);
    assert.deepEqual(
      vectors,
      texts.map((t) => big.embedOne(t)),
      'the same vectors as on the calling thread',
    );
    await big.close();
    assert.equal(big.threads, 0);
    const [small] = await big.embed(['a short text stays on the calling thread']);
    assert.equal(big.threads, 0);
    assert.equal(small!.length, 64);
  });

  it('a knowledge base closes the thread of its default embedder', async () => {
    const kb = await KnowledgeBase.open();
    await kb.upsert({ tenant: 'acme', id: 'big', text: 'A long manual about widgets. '.repeat(2_000) });
    const embedder = kb.embedder as HashingEmbedder;
    assert.equal(embedder.threads, 1);
    await kb.close();
    assert.equal(embedder.threads, 0);
  });

  it('is deterministic and L2-normalised', async () => {
    const [a, b] = await embedder.embed(['The quick brown fox', 'The quick brown fox']);
    assert.deepEqual(a, b);
    assert.ok(Math.abs(dot(a!, a!) - 1) < 1e-5);
    const [empty] = await embedder.embed(['']);
    assert.equal(dot(empty!, empty!), 0, 'no features: the zero vector');
  });

  it('scores related texts above unrelated ones, in English and in Chinese', () => {
    const e = (t: string) => embedder.embedOne(t);
    const q = e('How do I reset my router password?');
    assert.ok(
      dot(q, e('Resetting the password of your router')) > dot(q, e('Bananas are rich in potassium')),
    );
    const zh = e('如何重置路由器的密码');
    assert.ok(dot(zh, e('路由器密码重置的步骤')) > dot(zh, e('今天天气很好,适合去公园散步')));
    assert.ok(dot(e('Agentfleet 支持多租户'), e('多租户 的 Agentfleet')) > 0.5, 'mixed CJK and Latin');
  });
});

describe('ExactIndex', () => {
  it('returns the exact top k by inner product, like a brute-force scan', () => {
    const d = 32;
    const index = new ExactIndex(d, { initialCapacity: 4 });
    const vectors: Float32Array[] = [];
    const random = seededRandom(7);
    const rand = () => random() * 2 - 1;
    for (let i = 0; i < 500; i++) {
      const v = Float32Array.from({ length: d }, rand);
      const n = Math.sqrt(dot(v, v));
      for (let j = 0; j < d; j++) v[j]! /= n;
      vectors.push(v);
      index.upsert(`v${i}`, v, { tenant: i % 2 === 0 ? 'acme' : 'globex' });
    }
    const query = vectors[42]!;
    const expected = vectors
      .map((v, i) => ({ id: `v${i}`, score: dot(v, query) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10);
    const hits = index.search(query, 10);
    assert.deepEqual(
      hits.map((h) => h.id),
      expected.map((e) => e.id),
    );
    assert.equal(hits[0]!.id, 'v42');
    const scoped = index.search(query, 5, { tenant: 'globex' });
    assert.ok(scoped.every((h) => h.metadata.tenant === 'globex'));
  });

  it('upserts replace, deletes remove (and fill the hole), bad vectors are typed errors', () => {
    const index = new ExactIndex(3);
    index.upsert('a', Float32Array.of(1, 0, 0), { tenant: 't' });
    index.upsert('b', Float32Array.of(0, 1, 0), { tenant: 't' });
    index.upsert('c', Float32Array.of(0, 0, 1), { tenant: 't' });
    index.upsert('a', Float32Array.of(0, 0.6, 0.8), { tenant: 't', v: 2 });
    assert.equal(index.size, 3);
    assert.equal(index.search(Float32Array.of(1, 0, 0), 1)[0]!.score, 0);
    assert.equal(index.delete('a'), true);
    assert.equal(index.delete('a'), false);
    assert.deepEqual(
      index.search(Float32Array.of(0, 0, 1), 3).map((h) => h.id),
      ['c', 'b'],
    );
    throwsWithCode(() => index.upsert('x', Float32Array.of(1, 2), { tenant: 't' }), 'VECTOR_INVALID');
    throwsWithCode(() => index.search(new Float32Array(4), 1), 'VECTOR_INVALID');
    throwsWithCode(
      () => index.upsert('x', Float32Array.of(1, Number.NaN, 0), { tenant: 't' }),
      'VECTOR_INVALID',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HashingEmbedder, KnowledgeBase } from './index.ts';

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

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import { fakeVector } from '../../test/vendors/embeddings.ts';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { createEmbeddings } from './embeddings.ts';

describe('provider embeddings against the fake vendor', () => {
  let vendor: VendorServer;
  before(async () => {
    vendor = await startVendorServer({ latencyMs: 0 });
  });
  after(() => vendor.close());

  for (const kind of ['openai', 'dashscope'] as const) {
    const baseUrl = () => (kind === 'openai' ? `${vendor.url}/v1` : `${vendor.url}/api/v1`);

    it(`${kind}: batches, keeps order, normalises`, async () => {
      const client = createEmbeddings({
        kind,
        baseUrl: baseUrl(),
        apiKey: 'k',
        model: 'emb',
        dimensions: 16,
        batchSize: 3,
      });
      const texts = Array.from({ length: 7 }, (_, i) => `text ${i}`);
      const before = vendor.calls.length;
      const vectors = await client.embed(texts);
      assert.equal(vendor.calls.length - before, 3, '7 texts in batches of 3');
      assert.equal(vectors.length, 7);
      for (let i = 0; i < 7; i++) {
        const raw = fakeVector(texts[i]!, 16);
        const norm = Math.sqrt(raw.reduce((s, x) => s + x * x, 0));
        assert.ok(Math.abs(vectors[i]![0]! - raw[0]! / norm) < 1e-6, `vector ${i} in its place`);
      }
      assert.equal(vendor.calls.at(-1)?.headers.authorization, 'Bearer k');
      await client.close();
    });

    it(`${kind}: vendor errors and malformed answers are typed`, async () => {
      for (const [scenario, code] of [
        ['ratelimit', 'LLM_RATE_LIMITED'],
        ['server', 'LLM_SERVER_ERROR'],
        ['malformed', 'LLM_MALFORMED_RESPONSE'],
      ] as const) {
        const client = createEmbeddings({
          kind,
          baseUrl: baseUrl(),
          model: 'emb',
          dimensions: 8,
          headers: { 'x-mock-scenario': scenario },
        });
        const error = await rejectsWithCode(client.embed(['a', 'b']), code);
        if (scenario === 'ratelimit') assert.equal((error as { retryAfterMs?: number }).retryAfterMs, 1000);
        await client.close();
      }
    });
  }

  it('plugs into a KnowledgeBase as its embedder', async () => {
    const { KnowledgeBase } = await import('../knowledge/index.ts');
    const embedder = createEmbeddings({
      kind: 'openai',
      baseUrl: `${vendor.url}/v1`,
      model: 'emb',
      dimensions: 32,
    });
    const kb = await KnowledgeBase.open({ embedder });
    await kb.upsert({ tenant: 'acme', id: 'doc', text: 'exact text' });
    const [hit] = await kb.search('acme', 'exact text', 1);
    assert.equal(hit?.documentId, 'doc');
    assert.ok(Math.abs(hit!.score - 1) < 1e-5, 'the same text embeds to the same vector');
    await embedder.close();
  });

  it('refuses bad config', () => {
    throwsWithCode(
      () => createEmbeddings({ kind: 'openai', baseUrl: 'not a url', model: 'm', dimensions: 8 }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(
      () => createEmbeddings({ kind: 'openai', baseUrl: 'http://x', model: 'm', dimensions: 0 }),
      'INVALID_OPTIONS',
    );
  });
});

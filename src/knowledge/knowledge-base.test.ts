import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { checksummed, ingestAndKill } from '../../test/knowledge/store-files.ts';
import { startVendorServer } from '../../test/vendors/server.ts';
import { createEmbeddings, type Embedder } from '../llm/index.ts';
import { type ChunkOptions, chunkText, ExactIndex, HashingEmbedder, KnowledgeBase } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'af-kb-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(dir, `kb${++n}`);

const hashing = new HashingEmbedder({ dimensions: 64 });
/** The 64-dimension `HashingEmbedder`, counting the texts it embeds; `null` for no id. */
const counting = (id: string | null = hashing.id): Embedder & { texts: number } => {
  const embedder = {
    dimensions: hashing.dimensions,
    id: id ?? undefined,
    texts: 0,
    embed: async (texts: readonly string[]) => {
      embedder.texts += texts.length;
      return hashing.embed(texts);
    },
  };
  return embedder;
};
/** Texts the counting embedder of `kb` has embedded. */
const embedded = (kb: KnowledgeBase) => (kb.embedder as ReturnType<typeof counting>).texts;
const small: ChunkOptions = { maxChars: 120, overlapChars: 20 };
const long = Array.from(
  { length: 12 },
  (_, i) => `Section ${i} explains how the widget number ${i} is calibrated and cleaned.`,
).join(' ');
/** A base in `d` holding a few documents (one of several chunks), some changed since written. */
async function populate(d: string, embedder: Embedder, chunking = small): Promise<void> {
  const kb = await KnowledgeBase.open({ directory: d, embedder, chunking });
  await kb.upsert({ tenant: 'acme', id: 'manual', text: long, metadata: { kind: 'manual' } });
  await kb.upsert({ tenant: 'acme', id: 'router', text: 'Hold the reset button for ten seconds.' });
  await kb.upsert({ tenant: 'acme', id: 'gone', text: 'This document is deleted.' });
  await kb.upsert({ tenant: 'globex', id: 'router', text: 'Globex routers have no reset button.' });
  await kb.delete('acme', 'gone');
  await kb.upsert({ tenant: 'acme', id: 'router', text: 'Hold the reset button for twenty seconds.' });
  await kb.close();
}
const queries = async (kb: KnowledgeBase) => [
  await kb.search('acme', 'how is widget 7 calibrated', 3),
  await kb.search('acme', 'reset button seconds', 3),
  await kb.search('globex', 'reset button', 3),
];

describe('chunkText', () => {
  it('splits by structure, then sentences, within the size, in English and Chinese', () => {
    const doc = `# Title\n\nFirst paragraph. It has two sentences.\n\n${'Long sentence here. '.repeat(30)}`;
    const chunks = chunkText(doc, { maxChars: 120, overlapChars: 20 });
    assert.ok(chunks.length > 3);
    assert.ok(chunks.every((c) => c.text.length <= 120));
    assert.ok(chunks[0]!.text.startsWith('# Title'));
    const zh = chunkText('第一句话。第二句话很长很长。'.repeat(30), { maxChars: 50, overlapChars: 0 });
    assert.ok(zh.every((c) => c.text.length <= 50 && c.text.length > 0));
    assert.ok(zh[0]!.text.endsWith('。'), 'Chinese splits at 。');
  });
});

describe('KnowledgeBase', () => {
  for (const index of ['exact', 'hnsw'] as const) {
    it(`retrieves the best passages with citations, per tenant (${index} index)`, async () => {
      const kb = await KnowledgeBase.open({ index });
      await kb.upsert({
        tenant: 'acme',
        id: 'router',
        text: 'To reset the router password, hold the reset button for ten seconds.',
      });
      await kb.upsert({
        tenant: 'acme',
        id: 'fruit',
        text: 'Bananas are rich in potassium and easy to digest.',
      });
      await kb.upsert({
        tenant: 'globex',
        id: 'router',
        text: 'Globex routers have no reset button; call support.',
      });
      await kb.upsert({ tenant: 'acme', id: 'zh', text: '重置路由器密码:按住复位键十秒钟。' });
      const [best] = await kb.search('acme', 'how to reset my router password', 2);
      assert.equal(best?.documentId, 'router');
      assert.equal(best?.chunk, 0);
      assert.match(best!.text, /hold the reset button/);
      const theirs = await kb.search('globex', 'reset router', 5);
      assert.deepEqual(
        theirs.map((p) => p.documentId),
        ['router'],
      );
      assert.match(theirs[0]!.text, /Globex/, "never acme's passage");
      assert.equal((await kb.search('acme', '路由器密码怎么重置', 1))[0]?.documentId, 'zh');
      assert.equal(await kb.delete('acme', 'router'), true);
      assert.ok(
        (await kb.search('acme', 'reset router password', 5)).every((p) => p.documentId !== 'router'),
      );
      assert.equal(await kb.delete('acme', 'router'), false);
    });
  }

  it('refuses an index whose dimensions differ from the embedder', async () => {
    await rejectsWithCode(KnowledgeBase.open({ index: new ExactIndex(32) }), 'INVALID_OPTIONS');
  });

  it('a shared index holds every tenant, each search filtered to its own', async () => {
    const shared = new ExactIndex(64);
    const kb = await KnowledgeBase.open({ embedder: hashing, index: shared });
    await kb.upsert({ tenant: 'acme', id: 'a', text: 'The router resets with its button.' });
    await kb.upsert({ tenant: 'globex', id: 'g', text: 'The router resets with its button, too.' });
    assert.equal(shared.size, 2);
    assert.deepEqual(
      (await kb.search('globex', 'router reset', 5)).map((p) => p.documentId),
      ['g'],
    );
    assert.deepEqual(await kb.search('nobody', 'router reset', 5), []);
    await kb.delete('globex', 'g');
    assert.equal(shared.size, 1);
    assert.throws(() => kb.searchVector('nobody', new Float32Array(3)), /64 values/);
    await kb.close();
  });

  it('refuses empty text, huge documents, bad tenants and empty queries with KNOWLEDGE_INVALID', async () => {
    const kb = await KnowledgeBase.open({ maxDocumentChars: 100 });
    await rejectsWithCode(kb.upsert({ tenant: 'acme', id: 'x', text: '   ' }), 'KNOWLEDGE_INVALID');
    await rejectsWithCode(kb.upsert({ tenant: 'acme', id: 'x', text: 'a'.repeat(101) }), 'KNOWLEDGE_INVALID');
    await rejectsWithCode(kb.upsert({ tenant: 'a/b', id: 'x', text: 'ok' }), 'KNOWLEDGE_INVALID');
    await rejectsWithCode(kb.search('acme', ''), 'KNOWLEDGE_INVALID');
  });

  it('persists: reopening reloads and re-indexes; compaction keeps everything', async () => {
    const d = freshDir();
    const kb = await KnowledgeBase.open({ directory: d });
    await kb.upsert({ tenant: 'acme', id: 'a', text: 'alpha document about cats' });
    await kb.upsert({ tenant: 'acme', id: 'b', text: 'beta document about dogs' });
    await kb.compact();
    await kb.upsert({ tenant: 'acme', id: 'c', text: 'gamma document about birds' });
    await kb.delete('acme', 'a');
    await kb.close();
    const again = await KnowledgeBase.open({ directory: d });
    assert.equal(again.size, 2);
    assert.equal((await again.search('acme', 'birds', 1))[0]?.documentId, 'c');
    await again.close();
  });

  it('drops a torn last line (a crash mid-write) and refuses a corrupt one in the middle', async () => {
    const d = freshDir();
    const kb = await KnowledgeBase.open({ directory: d });
    await kb.upsert({ tenant: 'acme', id: 'a', text: 'kept' });
    await kb.close();
    appendFileSync(join(d, 'log.jsonl'), '{"op":"upsert","doc":{"id":"torn"');
    const reopened = await KnowledgeBase.open({ directory: d });
    assert.equal(reopened.size, 1);
    await reopened.upsert({ tenant: 'acme', id: 'b', text: 'after the tear' });
    await reopened.close();
    const third = await KnowledgeBase.open({ directory: d });
    assert.equal(third.size, 2, 'the torn bytes were cut, later writes are intact');
    await third.close();
    writeFileSync(join(d, 'log.jsonl'), 'garbage\n{"op":"delete","tenant":"acme","id":"a"}\n');
    await rejectsWithCode(KnowledgeBase.open({ directory: d }), 'KNOWLEDGE_STORE_CORRUPT');
  });

  it('a document the embedder fails on is neither stored nor indexed', async () => {
    const d = freshDir();
    const failing = { dimensions: 8, embed: async () => Promise.reject(new Error('embedding service down')) };
    const kb = await KnowledgeBase.open({ directory: d, embedder: failing });
    await assert.rejects(kb.upsert({ tenant: 'acme', id: 'x', text: 'hello' }), /embedding service down/);
    assert.equal(kb.size, 0);
    await kb.close();
    const reopened = await KnowledgeBase.open({ directory: d });
    assert.equal(reopened.size, 0, 'nothing reached the log');
    await reopened.close();
  });

  it('a SIGKILL during ingestion loses nothing that was acknowledged', async () => {
    const d = freshDir();
    const acked = await ingestAndKill(d, ['100000'], 150);
    assert.ok(acked.length >= 150);
    const kb = await KnowledgeBase.open({ directory: d }); // the killed process's lock is stale: taken over
    assert.ok(kb.size >= acked.length, `${kb.size} documents after the kill, ${acked.length} acknowledged`);
    for (const { id } of [acked[0]!, acked.at(-1)!]) {
      const hits = await kb.search('acme', `Document number ${id.slice(4)} about`, 3);
      assert.ok(
        hits.some((h) => h.documentId === id),
        id,
      );
    }
    await kb.close();
  });

  it('reloads with the stored vectors: no embedding, the same passages and scores', async () => {
    const d = freshDir();
    await populate(d, counting());
    const first = await KnowledgeBase.open({ directory: d, embedder: counting(), chunking: small });
    assert.equal(embedded(first), 0, 'nothing re-embedded from the log');
    assert.equal(first.size, 3);
    const expected = await queries(first);
    assert.equal(expected[0]![0]?.documentId, 'manual');
    assert.match(expected[1]![0]!.text, /twenty/, 'the later upsert won');
    await first.compact();
    await first.upsert({ tenant: 'initech', id: 'late', text: 'Written after the compaction.' });
    await first.close();
    assert.ok(existsSync(join(d, 'snapshot.jsonl')));
    const second = await KnowledgeBase.open({ directory: d, embedder: counting(), chunking: small });
    assert.equal(embedded(second), 0, 'nothing re-embedded from snapshot and log');
    assert.equal(second.size, 4);
    assert.deepEqual(await queries(second), expected, 'bit-identical vectors give identical scores');
    await second.compact();
    await second.close();
    const third = await KnowledgeBase.open({ directory: d, embedder: counting(), chunking: small });
    assert.equal(embedded(third), 0, 'nothing re-embedded from a snapshot alone');
    assert.deepEqual(await queries(third), expected);
    await third.close();
  });

  it('re-embeds under another embedder id or other chunks; compaction then stores the new vectors', async () => {
    const d = freshDir();
    await populate(d, counting());
    const chunksOf = (chunking: ChunkOptions) =>
      [long, 'Hold the reset button for twenty seconds.', 'Globex routers have no reset button.']
        .map((t) => chunkText(t, chunking).length)
        .reduce((a, b) => a + b);
    const other = await KnowledgeBase.open({ directory: d, embedder: counting('other:v1'), chunking: small });
    assert.equal(embedded(other), chunksOf(small), 'another id: every chunk re-embedded');
    await other.close();
    const again = await KnowledgeBase.open({ directory: d, embedder: counting('other:v1'), chunking: small });
    assert.equal(embedded(again), chunksOf(small), 'not stored before a compaction');
    await again.compact();
    await again.close();
    const stored = await KnowledgeBase.open({
      directory: d,
      embedder: counting('other:v1'),
      chunking: small,
    });
    assert.equal(embedded(stored), 0, 'the compaction stored the new vectors');
    await stored.close();

    const rechunked = { maxChars: 60, overlapChars: 0 };
    const wider = await KnowledgeBase.open({
      directory: d,
      embedder: counting('other:v1'),
      chunking: rechunked,
    });
    // Only the long document chunks differently; the short ones keep their single chunk and vectors.
    assert.equal(embedded(wider), chunkText(long, rechunked).length);
    assert.equal((await wider.search('acme', 'widget 7 calibrated', 1))[0]?.documentId, 'manual');
    await wider.close();

    const anonymous = counting(null);
    const none = await KnowledgeBase.open({ directory: d, embedder: anonymous, chunking: small });
    assert.equal(anonymous.texts, chunksOf(small), 'an embedder without an id always re-embeds');
    await none.upsert({ tenant: 'acme', id: 'plain', text: 'Stored without vectors.' });
    await none.close();
    assert.doesNotMatch(readFileSync(join(d, 'log.jsonl'), 'utf8'), /"vectors"/);
  });

  it('refuses damaged vectors with KNOWLEDGE_STORE_CORRUPT; a torn last line is still dropped', async () => {
    const d = freshDir();
    await populate(d, counting());
    const log = readFileSync(join(d, 'log.jsonl'), 'utf8');
    const [line] = log.split('\n');
    const torn = `${log}${line!.slice(0, line!.length >> 1)}`;
    writeFileSync(join(d, 'log.jsonl'), torn);
    const kb = await KnowledgeBase.open({ directory: d, embedder: counting(), chunking: small });
    assert.equal(kb.size, 3, 'the half-written upsert was dropped');
    await kb.close();
    const nan = Buffer.from(new Float32Array([Number.NaN, 0, 0]).buffer).toString('base64');
    const damage: Array<(v: { chunks: number; data: string }) => void> = [
      (v) => {
        v.data = v.data.slice(4); // three bytes short
      },
      (v) => {
        v.data = `!${v.data.slice(1)}`; // not base64
      },
      (v) => {
        v.chunks += 1;
      },
      (v) => {
        v.data = nan + v.data.slice(nan.length); // not finite (the first 12 bytes)
      },
    ];
    const payloads = log
      .trimEnd()
      .split('\n')
      .map((l) => l.slice(9));
    for (const change of damage) {
      const entry = JSON.parse(payloads[0]!);
      change(entry.vectors);
      // Checksummed anew, so what is refused is the vector data itself.
      writeFileSync(join(d, 'log.jsonl'), checksummed([JSON.stringify(entry), ...payloads.slice(1)]));
      await rejectsWithCode(
        KnowledgeBase.open({ directory: d, embedder: counting(), chunking: small }),
        'KNOWLEDGE_STORE_CORRUPT',
      );
    }
    writeFileSync(join(d, 'log.jsonl'), log);
    const compacted = await KnowledgeBase.open({ directory: d, embedder: counting(), chunking: small });
    await compacted.compact();
    await compacted.close();
    const snapshot = readFileSync(join(d, 'snapshot.jsonl'), 'utf8');
    writeFileSync(join(d, 'snapshot.jsonl'), snapshot.replace(/"data":"..../, '"data":"'));
    await rejectsWithCode(KnowledgeBase.open({ directory: d }), 'KNOWLEDGE_STORE_CORRUPT');
    writeFileSync(join(d, 'snapshot.jsonl'), snapshot.slice(0, -10));
    await rejectsWithCode(KnowledgeBase.open({ directory: d }), 'KNOWLEDGE_STORE_CORRUPT');
  });

  it('reads the snapshot.json of earlier versions; compaction replaces it', async () => {
    const d = freshDir();
    await populate(d, counting());
    rmSync(join(d, 'log.jsonl'));
    const docs = [{ tenant: 'acme', id: 'old', text: 'From an older snapshot.', metadata: { v: 1 } }];
    writeFileSync(join(d, 'snapshot.json'), JSON.stringify(docs));
    const kb = await KnowledgeBase.open({ directory: d, embedder: counting(), chunking: small });
    assert.equal(kb.size, 1);
    assert.equal(embedded(kb), 1);
    await kb.compact();
    await kb.close();
    assert.ok(!existsSync(join(d, 'snapshot.json')));
    const again = await KnowledgeBase.open({ directory: d, embedder: counting(), chunking: small });
    assert.equal(embedded(again), 0);
    assert.equal((await again.search('acme', 'older snapshot', 1))[0]?.documentId, 'old');
    await again.close();
  });

  it('embedders say which model and settings made their vectors', async () => {
    assert.equal(new HashingEmbedder().id, 'hashing:v1:768:3,4');
    assert.equal(new HashingEmbedder({ dimensions: 256, charNgrams: [3] }).id, 'hashing:v1:256:3');
    const provider = createEmbeddings({
      kind: 'openai',
      baseUrl: 'http://127.0.0.1:9/v1',
      model: 'text-embedding-3-small',
      dimensions: 512,
    });
    assert.equal(provider.id, 'openai:text-embedding-3-small:512');
    await provider.close();
  });

  it('takes provider embeddings through the same Embedder contract as the offline one', async () => {
    const vendor = await startVendorServer({ latencyMs: 0 });
    const embedder = createEmbeddings({
      kind: 'openai',
      baseUrl: `${vendor.url}/v1`,
      apiKey: 'k',
      model: 'emb',
      dimensions: 16,
    });
    const kb = await KnowledgeBase.open({ embedder });
    try {
      await kb.upsert({ tenant: 'acme', id: 'router', text: 'Hold the reset button for ten seconds.' });
      await kb.upsert({
        tenant: 'acme',
        id: 'billing',
        text: 'Invoices are sent on the first of the month.',
      });
      const [hit] = await kb.search('acme', 'Invoices are sent on the first of the month.', 1);
      assert.equal(hit?.documentId, 'billing', 'the same text embeds to the same vector');
      const aborted = AbortSignal.abort();
      await rejectsWithCode(embedder.embed(['x'], { signal: aborted }), 'ABORTED');
      await rejectsWithCode(
        new HashingEmbedder({ dimensions: 16 }).embed(['x'], { signal: aborted }),
        'ABORTED',
      );
    } finally {
      await kb.close();
      await embedder.close();
      await vendor.close();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { filesOf } from '../../test/knowledge/store-files.ts';
import { ExactIndex, HashingEmbedder, KnowledgeBase } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'af-ktenants-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(dir, `t${++n}`);
const embedder = new HashingEmbedder({ dimensions: 32 });

describe('KnowledgeBase quotas', () => {
  it('maxDocumentsPerTenant: one more document is QUOTA_EXCEEDED; replacing, deleting and other tenants still work', async () => {
    const d = freshDir();
    const kb = await KnowledgeBase.open({ directory: d, embedder, maxDocumentsPerTenant: 2 });
    await kb.upsert({ tenant: 'acme', id: 'a', text: 'first' });
    await kb.upsert({ tenant: 'acme', id: 'b', text: 'second' });
    const error = await rejectsWithCode(
      kb.upsert({ tenant: 'acme', id: 'c', text: 'third' }),
      'QUOTA_EXCEEDED',
    );
    assert.deepEqual(error.details, { tenant: 'acme', quota: 'maxDocumentsPerTenant', limit: 2, wanted: 3 });
    await kb.upsert({ tenant: 'acme', id: 'b', text: 'second, revised' });
    await kb.upsert({ tenant: 'globex', id: 'c', text: 'another tenant' });
    assert.equal(await kb.delete('acme', 'a'), true);
    await kb.upsert({ tenant: 'acme', id: 'c', text: 'third, now that a is gone' });
    await kb.close();
    const again = await KnowledgeBase.open({ directory: d, embedder, maxDocumentsPerTenant: 2 });
    assert.equal(again.size, 3, 'nothing accepted was lost');
    await rejectsWithCode(again.upsert({ tenant: 'acme', id: 'd', text: 'fourth' }), 'QUOTA_EXCEEDED');
    await again.close();
  });

  it('concurrent upserts cannot pass the quota together', async () => {
    const kb = await KnowledgeBase.open({ embedder, maxDocumentsPerTenant: 3 });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => kb.upsert({ tenant: 'acme', id: `d${i}`, text: `document ${i}` })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    assert.equal(kb.size, 3);
  });

  it('maxBytesPerTenant counts UTF-8 text; a replacement that shrinks is allowed over it', async () => {
    const kb = await KnowledgeBase.open({ embedder, maxBytesPerTenant: 100 });
    await kb.upsert({ tenant: 'acme', id: 'a', text: 'x'.repeat(60) });
    const error = await rejectsWithCode(
      kb.upsert({ tenant: 'acme', id: 'b', text: '路'.repeat(14) }),
      'QUOTA_EXCEEDED',
    );
    assert.equal(error.details?.wanted, 60 + 42, '3 bytes per CJK character');
    await kb.upsert({ tenant: 'acme', id: 'b', text: '路'.repeat(13) });
    await kb.upsert({ tenant: 'acme', id: 'a', text: 'x'.repeat(20) });
    await kb.upsert({ tenant: 'globex', id: 'a', text: 'y'.repeat(100) });
    assert.equal(kb.size, 3);
  });
});

describe('KnowledgeBase.deleteTenant', () => {
  const acmeText = (i: number) => `Acme secret plan number ${i} for the quarterly widget launch.`;

  for (const index of ['exact', 'hnsw'] as const) {
    it(`removes every document of the tenant from memory, index and every file (${index}); others keep theirs`, async () => {
      const d = freshDir();
      const kb = await KnowledgeBase.open({ directory: d, embedder, index });
      for (let i = 0; i < 5; i++) await kb.upsert({ tenant: 'acme', id: `acme-doc-${i}`, text: acmeText(i) });
      await kb.compact(); // some in the snapshot, some in the log
      await kb.upsert({ tenant: 'acme', id: 'late', text: 'Acme secret written after the compaction.' });
      await kb.upsert({ tenant: 'globex', id: 'g', text: 'Globex public notes about widgets.' });
      assert.deepEqual(await kb.deleteTenant('acme'), { documents: 6 });
      assert.deepEqual(await kb.search('acme', 'secret plan widget launch', 10), []);
      assert.equal((await kb.search('globex', 'widgets', 1))[0]?.documentId, 'g');
      assert.equal(kb.size, 1);
      for (const [name, content] of Object.entries(filesOf(d))) {
        assert.doesNotMatch(content, /Acme secret/, `${name} still holds the tenant's text`);
      }
      await kb.close();
      for (const [name, content] of Object.entries(filesOf(d))) {
        assert.doesNotMatch(
          content,
          /Acme secret|acme-doc-/,
          `${name} still names the tenant's documents after close`,
        );
      }
      const reopened = await KnowledgeBase.open({ directory: d, embedder, index });
      assert.deepEqual(
        await reopened.search('acme', 'secret plan', 10),
        [],
        'a re-created tenant reads nothing',
      );
      assert.equal(reopened.size, 1);
      await reopened.upsert({ tenant: 'acme', id: 'p0', text: 'A new acme, new documents.' });
      assert.equal((await reopened.search('acme', 'plan', 10)).length, 1);
      assert.deepEqual(await reopened.deleteTenant('nobody'), { documents: 0 });
      await reopened.close();
    });
  }

  it('in memory, with a shared index', async () => {
    const shared = new ExactIndex(embedder.dimensions);
    const kb = await KnowledgeBase.open({ embedder, index: shared });
    await kb.upsert({ tenant: 'acme', id: 'a', text: acmeText(1) });
    await kb.upsert({ tenant: 'globex', id: 'a', text: 'Globex notes.' });
    assert.deepEqual(await kb.deleteTenant('acme'), { documents: 1 });
    assert.equal(kb.size, 1);
    assert.equal(shared.size, 1, "the tenant's vectors left the shared index");
    await kb.upsert({ tenant: 'acme', id: 'a', text: acmeText(2) });
    assert.match((await kb.search('acme', 'plan', 5))[0]!.text, /number 2/);
  });

  it('a store that crashed between the deletion record and the compaction purges on open', async () => {
    const d = freshDir();
    const kb = await KnowledgeBase.open({ directory: d, embedder });
    await kb.upsert({ tenant: 'acme', id: 'a', text: acmeText(1) });
    await kb.upsert({ tenant: 'globex', id: 'g', text: 'Globex notes.' });
    const aborted = new AbortController();
    // The record is written, then the compaction is refused: the state a crash there leaves.
    const deleting = kb.deleteTenant('acme', { signal: aborted.signal });
    aborted.abort();
    await rejectsWithCode(deleting, 'ABORTED');
    assert.equal(kb.size, 1, 'deleted in memory');
    assert.match(filesOf(d)['log.jsonl']!, /Acme secret/, 'the text is still on disk');
    await kb.close();
    const reopened = await KnowledgeBase.open({ directory: d, embedder });
    assert.equal(reopened.size, 1);
    for (const content of Object.values(filesOf(d))) assert.doesNotMatch(content, /Acme secret/);
    await reopened.close();
  });

  it('an aborted signal before the call changes nothing; a bad tenant id is KNOWLEDGE_INVALID', async () => {
    const kb = await KnowledgeBase.open({ embedder });
    await kb.upsert({ tenant: 'acme', id: 'a', text: acmeText(1) });
    await rejectsWithCode(kb.deleteTenant('acme', { signal: AbortSignal.abort() }), 'ABORTED');
    assert.equal(kb.size, 1);
    await rejectsWithCode(kb.deleteTenant('a/b'), 'KNOWLEDGE_INVALID');
  });
});

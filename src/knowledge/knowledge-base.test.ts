import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rejectsWithCode } from '../../test/helpers.ts';
import { chunkText, KnowledgeBase } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'af-kb-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(dir, `kb${++n}`);

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
  it('retrieves the best passages with citations, per tenant', async () => {
    const kb = await KnowledgeBase.open();
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
    assert.ok((await kb.search('acme', 'reset router password', 5)).every((p) => p.documentId !== 'router'));
    assert.equal(await kb.delete('acme', 'router'), false);
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
    const worker = fileURLToPath(new URL('../../test/knowledge/ingest-worker.ts', import.meta.url));
    const child = spawn(process.execPath, [worker, d, '100000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    for await (const line of createInterface({ input: child.stdout! })) {
      acked.push(line.slice(4));
      if (acked.length === 150) child.kill('SIGKILL');
    }
    await new Promise((r) =>
      child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
    );
    assert.ok(acked.length >= 150);
    const kb = await KnowledgeBase.open({ directory: d });
    assert.ok(kb.size >= acked.length, `${kb.size} documents after the kill, ${acked.length} acknowledged`);
    for (const id of [acked[0]!, acked.at(-1)!]) {
      const hits = await kb.search('acme', `Document number ${id.slice(4)} about`, 3);
      assert.ok(
        hits.some((h) => h.documentId === id),
        id,
      );
    }
    await kb.close();
  });
});

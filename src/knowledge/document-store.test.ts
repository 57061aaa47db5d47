import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { bytesOnDisk, checksummed, ingestAndKill } from '../../test/knowledge/store-files.ts';
import { HashingEmbedder, KnowledgeBase } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'af-kstore-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(dir, `s${++n}`);
const embedder = new HashingEmbedder({ dimensions: 32 });
const open = (directory: string, more: Parameters<typeof KnowledgeBase.open>[0] = {}) =>
  KnowledgeBase.open({ directory, embedder, ...more });
const text = (i: number) => `Document ${i} tells how widget ${i} is calibrated.`;

/** A store of `count` documents, written and closed, with the log not compacted. */
async function written(d: string, count = 5): Promise<void> {
  const kb = await open(d);
  for (let i = 0; i < count; i++) await kb.upsert({ tenant: 'acme', id: `d${i}`, text: text(i) });
  await kb.close();
}

describe('knowledge store: checksums', () => {
  it('a damaged byte in the middle of the log is KNOWLEDGE_STORE_CORRUPT naming the file, line and offset', async () => {
    const d = freshDir();
    await written(d);
    const path = join(d, 'log.jsonl');
    const log = readFileSync(path, 'utf8');
    const lines = log.split('\n');
    // Same length, still valid JSON: only the checksum can tell.
    writeFileSync(path, log.replace('widget 2 is', 'widget 7 is'));
    const error = await rejectsWithCode(open(d), 'KNOWLEDGE_STORE_CORRUPT');
    const offset = Buffer.byteLength(`${lines.slice(0, 2).join('\n')}\n`);
    assert.deepEqual(
      { file: error.details?.file, line: error.details?.line, offset: error.details?.offset },
      { file: resolve(path), line: 3, offset },
    );
    assert.match(String(error.details?.hint), /backup/);
    assert.match(error.message, /log\.jsonl line 3/);
    writeFileSync(path, log);
    const kb = await open(d);
    assert.equal(kb.size, 5, 'the undamaged store opens');
    await kb.close();
  });

  it('a record removed from the middle of the log is detected; a torn last line is dropped', async () => {
    const d = freshDir();
    await written(d);
    const path = join(d, 'log.jsonl');
    const log = readFileSync(path, 'utf8');
    const lines = log.trimEnd().split('\n');
    writeFileSync(path, `${[...lines.slice(0, 2), ...lines.slice(3)].join('\n')}\n`);
    const error = await rejectsWithCode(open(d), 'KNOWLEDGE_STORE_CORRUPT');
    assert.equal(error.details?.line, 3, 'the line after the gap fails the chain');
    writeFileSync(path, `${log}${lines[4]!.slice(0, 30)}`); // a crash in the middle of a sixth write
    const kb = await open(d);
    assert.equal(kb.size, 5);
    await kb.upsert({ tenant: 'acme', id: 'after', text: 'Written after the torn line was cut.' });
    await kb.close();
    const again = await open(d);
    assert.equal(again.size, 6);
    await again.close();
  });

  it('a snapshot cut at a line boundary is detected by its closing count', async () => {
    const d = freshDir();
    await written(d);
    const kb = await open(d);
    await kb.compact();
    await kb.close();
    const path = join(d, 'snapshot.jsonl');
    const snapshot = readFileSync(path, 'utf8');
    const lines = snapshot.trimEnd().split('\n');
    assert.equal(lines.length, 6, 'five documents and the closing count');
    writeFileSync(path, `${lines.slice(0, 3).join('\n')}\n`);
    const error = await rejectsWithCode(open(d), 'KNOWLEDGE_STORE_CORRUPT');
    assert.equal(error.details?.file, resolve(path));
    assert.match(error.message, /closing count is missing/);
  });

  it('migrates a store of the previous format (no checksums) on open, losing nothing', async () => {
    const d = freshDir();
    mkdirSync(d);
    const up = (id: string, t: string) =>
      JSON.stringify({ op: 'upsert', doc: { tenant: 'acme', id, text: t, metadata: {} } });
    writeFileSync(
      join(d, 'snapshot.jsonl'),
      `${up('a', 'Alpha is about cats.')}\n${up('b', 'Beta is about dogs.')}\n`,
    );
    writeFileSync(
      join(d, 'log.jsonl'),
      `${up('c', 'Gamma is about birds.')}\n${JSON.stringify({ op: 'delete', tenant: 'acme', id: 'a' })}\n`,
    );
    const kb = await open(d);
    assert.equal(kb.size, 2);
    assert.equal((await kb.search('acme', 'birds', 1))[0]?.documentId, 'c');
    await kb.close();
    const snapshot = readFileSync(join(d, 'snapshot.jsonl'), 'utf8');
    assert.match(snapshot, /^[0-9a-f]{8} \{/, 'rewritten with checksums');
    assert.doesNotMatch(snapshot, /Alpha/, 'the deleted document is gone');
    assert.equal(readFileSync(join(d, 'log.jsonl'), 'utf8'), '');
    const again = await open(d);
    assert.equal(again.size, 2);
    await again.close();
  });

  it('a line without a checksum in a checksummed log is refused', async () => {
    const d = freshDir();
    await written(d, 2);
    const path = join(d, 'log.jsonl');
    const bare = JSON.stringify({ op: 'delete', tenant: 'acme', id: 'd0' });
    writeFileSync(path, `${readFileSync(path, 'utf8')}${bare}\n${checksummed([bare]).trimEnd()}\n`);
    await rejectsWithCode(open(d), 'KNOWLEDGE_STORE_CORRUPT');
  });
});

describe('knowledge store: lock', () => {
  it('a second base in the same process gets KNOWLEDGE_STORE_LOCKED until the first closes', async () => {
    const d = freshDir();
    const first = await open(d);
    const error = await rejectsWithCode(open(d), 'KNOWLEDGE_STORE_LOCKED');
    assert.equal(error.details?.pid, process.pid);
    assert.equal(error.details?.directory, resolve(d));
    assert.match(error.message, new RegExp(`process ${process.pid}`));
    await first.upsert({ tenant: 'acme', id: 'a', text: 'still writable by its holder' });
    await first.close();
    const second = await open(d);
    assert.equal(second.size, 1);
    await second.close();
  });

  it('another process holding the store is named; once it is killed its lock is taken over', async () => {
    const d = freshDir();
    let refused: { code?: string; details?: Record<string, unknown> } | undefined;
    let holder = 0;
    const acked = await ingestAndKill(d, ['100000'], 20, async (pid) => {
      holder = pid;
      refused = await open(d).then(
        () => assert.fail('opened a store another process holds'),
        (error: { code?: string; details?: Record<string, unknown> }) => error,
      );
    });
    assert.equal(refused?.code, 'KNOWLEDGE_STORE_LOCKED');
    assert.equal(refused?.details?.pid, holder);
    const kb = await KnowledgeBase.open({ directory: d });
    assert.ok(kb.size >= acked.length);
    await kb.close();
  });
});

describe('knowledge store: automatic compaction', () => {
  it('repeated upserts of one document keep the files within (ratio + 1) × the live record', async () => {
    const d = freshDir();
    const ratio = 2;
    const kb = await open(d, { compactionRatio: ratio, compactionMinBytes: 0 });
    const body = 'The same manual, uploaded again and again. '.repeat(200);
    let largest = 0;
    for (let i = 0; i < 60; i++) {
      await kb.upsert({ tenant: 'acme', id: 'manual', text: `${body} Revision ${i}.` });
      largest = Math.max(largest, bytesOnDisk(d));
    }
    const live = kb.storage.liveBytes;
    assert.ok(live > 0);
    // At an acknowledgement the compaction it triggers may still be queued: one record more.
    assert.ok(largest <= (ratio + 1) * live + 200, `${largest} bytes on disk for ${live} live`);
    assert.ok(kb.storage.compactions > 10);
    await kb.close();
    const again = await open(d);
    assert.equal(again.size, 1);
    assert.match((await again.search('acme', 'revision', 1))[0]!.text, /Revision 59/);
    await again.close();
  });

  it('a SIGKILL while the store compacts itself again and again loses nothing acknowledged', async () => {
    const d = freshDir();
    // 40 ids rewritten over and over, compacting once the log passes 2× the live data.
    const acked = await ingestAndKill(d, ['100000', '40', '0'], 400);
    const latest = new Map<string, number>();
    for (const { id, version } of acked) latest.set(id, version);
    const kb = await KnowledgeBase.open({ directory: d });
    assert.ok(kb.storage.snapshotBytes > 0, 'the worker compacted');
    assert.equal(kb.size, 40);
    for (const [id, version] of latest) {
      const hits = await kb.search('acme', `Document number ${id.slice(4)} version ${version}`, 100);
      const stored = hits.find((h) => h.documentId === id);
      const found = Number(/version (\d+)/.exec(stored?.text ?? '')?.[1]);
      assert.ok(found >= version, `${id}: version ${found} on disk, ${version} acknowledged`);
    }
    await kb.close();
  });

  it('refuses a ratio of 1 or less with INVALID_OPTIONS', async () => {
    await rejectsWithCode(KnowledgeBase.open({ compactionRatio: 1 }), 'INVALID_OPTIONS');
    await rejectsWithCode(KnowledgeBase.open({ maxDocumentsPerTenant: 0 }), 'INVALID_OPTIONS');
  });
});

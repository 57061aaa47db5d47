import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleDecision } from '../testing/index.ts';
import { ProvenanceRecorder, provenanceQuerySchema, SqliteProvenanceStore } from './index.ts';

const all = provenanceQuerySchema.parse({ limit: 1000 });

describe('ProvenanceRecorder', () => {
  it('writes nothing on record; a full batch or flush writes in one go; close flushes the rest', async () => {
    const store = await SqliteProvenanceStore.open({ path: ':memory:' });
    const appended: number[] = [];
    const append = store.append.bind(store);
    store.append = async (drafts) => {
      appended.push(drafts.length);
      await append(drafts);
    };
    const recorder = new ProvenanceRecorder({ store, batchSize: 3, flushMs: 60_000 });
    recorder.record(sampleDecision());
    recorder.record(sampleDecision());
    assert.deepEqual(appended, []);
    recorder.record(sampleDecision());
    await recorder.flush();
    assert.deepEqual(appended, [3]);
    recorder.record(sampleDecision());
    await recorder.close();
    assert.deepEqual(appended, [3, 1]);
    assert.equal((await store.query('acme', all)).records.length, 4);
    assert.deepEqual(recorder.stats(), { recorded: 4, written: 4, dropped: 0, failed: 0, queued: 0 });
    recorder.record(sampleDecision());
    assert.equal(recorder.stats().dropped, 1, 'a closed recorder drops and counts');
    await store.close();
  });

  it('drops and counts when the queue is full instead of growing', async () => {
    const store = await SqliteProvenanceStore.open({ path: ':memory:' });
    const recorder = new ProvenanceRecorder({ store, maxQueue: 2, batchSize: 100, flushMs: 60_000 });
    for (let i = 0; i < 5; i++) recorder.record(sampleDecision());
    assert.deepEqual(recorder.stats(), { recorded: 2, written: 0, dropped: 3, failed: 0, queued: 2 });
    await recorder.close();
    assert.equal(recorder.stats().written, 2);
    await store.close();
  });

  it('counts a batch the store refuses as failed and tells onError', async () => {
    const store = await SqliteProvenanceStore.open({ path: ':memory:' });
    const errors: unknown[] = [];
    store.append = async () => {
      throw new Error('disk full');
    };
    const recorder = new ProvenanceRecorder({ store, onError: (e) => errors.push(e) });
    recorder.record(sampleDecision());
    await recorder.close();
    assert.equal(recorder.stats().failed, 1);
    assert.equal(errors.length, 1);
    await store.close();
  });

  it('prunes past the retention', async () => {
    const store = await SqliteProvenanceStore.open({ path: ':memory:' });
    const recorder = new ProvenanceRecorder({ store, retentionDays: 1 });
    const now = 10 * 86_400_000;
    recorder.record(sampleDecision({ at: now - 2 * 86_400_000 }));
    recorder.record(sampleDecision({ at: now - 1000 }));
    await recorder.flush();
    assert.equal(await recorder.prune(now), 1);
    assert.equal((await store.query('acme', all)).records.length, 1);
    await recorder.close();
    await store.close();
  });
});

// The behaviour every rollout store must show. Run by rollout/memory-rollout-store.test.ts and
// by the NATS KV integration test.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  type RolloutChange,
  type RolloutRecord,
  type RolloutStore,
  rolloutPlanSchema,
  type StepStats,
} from '../rollout/index.ts';
import { rejectsWithCode } from './assertions.ts';
import { eventually } from './timing.ts';

export interface RolloutStoreContractOptions {
  /**
   * Opens two handles over one fresh backing (a new bucket), each as a separate node would (its
   * own connection). Called once per case; the suite closes what it returns.
   */
  open: () => Promise<RolloutStore[]>;
  /** Writes `value` at `key` as something other than a store would (for refused values); omit to skip that case. */
  putRaw?: (store: RolloutStore, key: string, value: string) => Promise<void>;
  skip?: string | undefined;
}

/** A running rollout record of `tenant`'s `definition` (A → B, default plan), for store tests. */
export function sampleRollout(
  tenant: string,
  definition: string,
  changes: Partial<RolloutRecord> = {},
): RolloutRecord {
  const plan = rolloutPlanSchema.parse({ to: 'B' });
  const empty = { count: 0, errors: 0, errorRate: 0, p50: 0, p99: 0 };
  return {
    v: 1,
    id: 'r1',
    tenant,
    definition,
    from: 'A',
    to: plan.to,
    steps: plan.steps,
    holdMs: plan.holdMs,
    gates: plan.gates,
    checks: plan.checks,
    stepIndex: 0,
    percent: 5,
    status: 'running',
    startedAt: 1,
    updatedAt: 1,
    stepStartedAt: 1,
    stepId: 'r1_0',
    figures: { from: empty, to: empty },
    history: [],
    ...changes,
  };
}

const stats = (count: number): StepStats => ({
  from: { count, errors: 0, maxMs: 10, buckets: [[10, count]] },
  to: { count, errors: 1, maxMs: 12, buckets: [[12, count]] },
  samples: [{ at: 5, ok: false, latencyMs: 12, runId: 'run-1', output: { text: 'hi' } }],
});

/**
 * Registers, with `node:test`, the suite every `RolloutStore` must pass: records written by
 * compare-and-set through one handle read back through the other (a stale or duplicate write
 * loses), listed per tenant, watched from the start and through changes and deletions; per-node
 * stats per window, dropped by window or all; delete and a tenant's purge take the stats too and
 * leave other tenants alone; tenants and definitions of any characters; a closed store refuses
 * work with `ROLLOUT_STORE_UNAVAILABLE`, and a stored value that is not a record is `ROLLOUT_RECORD_INVALID`.
 */
export function rolloutStoreContract(name: string, options: RolloutStoreContractOptions): void {
  describe(`rollout store contract: ${name}`, { skip: options.skip }, () => {
    const opened: RolloutStore[] = [];
    const closers: Array<() => Promise<void>> = [];
    const open = async (): Promise<[RolloutStore, RolloutStore]> => {
      const stores = await options.open();
      opened.push(...stores);
      assert.ok(stores.length >= 2, 'open() gives two handles over the same data');
      return [stores[0] as RolloutStore, stores[1] as RolloutStore];
    };
    after(async () => {
      await Promise.all(closers.map((c) => c()));
      await Promise.all(opened.map((s) => s.close()));
    });

    it('writes by compare-and-set: the first write wins, a stale revision loses', async () => {
      const [a, b] = await open();
      assert.equal(await b.get('acme', 'helper'), undefined);
      const r1 = await a.put(sampleRollout('acme', 'helper'), 0);
      assert.ok(r1 !== undefined && r1 > 0);
      assert.equal(await b.put(sampleRollout('acme', 'helper'), 0), undefined, 'none expected, one is there');
      const read = await b.get('acme', 'helper');
      assert.deepEqual(read, { record: sampleRollout('acme', 'helper'), revision: r1 });
      const r2 = await b.put(sampleRollout('acme', 'helper', { stepIndex: 1, percent: 30 }), r1);
      assert.ok(r2 !== undefined && r2 > r1);
      assert.equal(
        await a.put(sampleRollout('acme', 'helper', { status: 'aborted' }), r1),
        undefined,
        'stale',
      );
      assert.equal((await a.get('acme', 'helper'))?.record.percent, 30);
      assert.equal(await a.put(sampleRollout('acme', 'other'), 12_345), undefined, 'a revision of nothing');
    });

    it('lists per tenant, and keeps tenants and definitions of any characters apart', async () => {
      const [a, b] = await open();
      const odd = ['ténant/ü 1', 'a.b*c>', 'x'.repeat(200)];
      for (const t of ['acme', ...odd]) await a.put(sampleRollout(t, 'helper'), 0);
      await a.put(sampleRollout('acme', 'writer.v2 ✓'), 0);
      const acme = (await b.list('acme')).map((s) => s.record.definition).sort();
      assert.deepEqual(acme, ['helper', 'writer.v2 ✓']);
      for (const t of odd)
        assert.deepEqual(
          (await b.list(t)).map((s) => s.record.tenant),
          [t],
        );
      assert.equal((await b.list()).length, 5);
      assert.equal((await b.get('a.b*c>', 'helper'))?.record.tenant, 'a.b*c>');
      assert.equal(await b.get('acme', 'nobody'), undefined);
    });

    it('keeps each node’s stats per window, and drops a window’s or all', async () => {
      const [a, b] = await open();
      await a.put(sampleRollout('acme', 'helper'), 0);
      await a.putStats('acme', 'helper', 'r1_0', 'n1', stats(3));
      await b.putStats('acme', 'helper', 'r1_0', 'n2', stats(4));
      await b.putStats('acme', 'helper', 'r1_0', 'n2', stats(5)); // replaces
      await b.putStats('acme', 'helper', 'r1_1', 'n1', stats(6));
      await b.putStats('acme', 'other', 'r1_0', 'n1', stats(7));
      const got = await a.stats('acme', 'helper', 'r1_0');
      assert.deepEqual([...got.keys()].sort(), ['n1', 'n2']);
      assert.deepEqual(got.get('n1'), stats(3));
      assert.equal(got.get('n2')?.to.count, 5);
      assert.equal((await a.stats('acme', 'helper', 'r1_9')).size, 0);
      await a.dropStats('acme', 'helper', 'r1_0');
      assert.equal((await b.stats('acme', 'helper', 'r1_0')).size, 0);
      assert.equal((await b.stats('acme', 'helper', 'r1_1')).size, 1, 'another window stays');
      await a.dropStats('acme', 'helper');
      assert.equal((await b.stats('acme', 'helper', 'r1_1')).size, 0);
      assert.equal((await b.stats('acme', 'other', 'r1_0')).size, 1, 'another definition’s stay');
    });

    it('deletes one and purges a tenant’s, stats with them, leaving other tenants', async () => {
      const [a, b] = await open();
      for (const d of ['one', 'two', 'three']) {
        await a.put(sampleRollout('acme', d), 0);
        await a.putStats('acme', d, 'r1_0', 'n1', stats(1));
      }
      await a.put(sampleRollout('globex', 'one'), 0);
      await a.putStats('globex', 'one', 'r1_0', 'n1', stats(1));
      assert.equal(await b.delete('acme', 'two'), true);
      assert.equal(await b.delete('acme', 'two'), false, 'false when it is not there');
      assert.equal(await a.get('acme', 'two'), undefined);
      assert.equal((await a.stats('acme', 'two', 'r1_0')).size, 0);
      assert.ok((await a.put(sampleRollout('acme', 'two'), 0)) !== undefined, 'written again after a delete');
      assert.equal(await a.purgeTenant('acme'), 3);
      assert.equal(await a.purgeTenant('acme'), 0);
      assert.deepEqual(await b.list('acme'), []);
      assert.equal((await b.stats('acme', 'one', 'r1_0')).size, 0);
      assert.equal((await b.get('globex', 'one'))?.record.tenant, 'globex');
      assert.equal((await b.stats('globex', 'one', 'r1_0')).size, 1);
    });

    it('watches: what is there first, then every change and deletion, in order', async () => {
      const [a, b] = await open();
      const r1 = (await a.put(sampleRollout('acme', 'one'), 0)) as number;
      const seen: RolloutChange[] = [];
      const watch = await b.watch({ change: (c) => seen.push(c) });
      closers.push(() => watch.close());
      await eventually(() => seen.length >= 1, 5_000);
      assert.equal(seen[0]?.stored?.revision, r1);
      const r2 = (await a.put(sampleRollout('acme', 'one', { status: 'paused' }), r1)) as number;
      await a.put(sampleRollout('globex', 'two'), 0);
      await a.delete('acme', 'one');
      await eventually(() => seen.length >= 4, 5_000);
      assert.deepEqual(
        seen.map((c) => [c.tenant, c.definition, c.stored?.record.status]),
        [
          ['acme', 'one', 'running'],
          ['acme', 'one', 'paused'],
          ['globex', 'two', 'running'],
          ['acme', 'one', undefined],
        ],
      );
      assert.equal(seen[1]?.stored?.revision, r2);
      await watch.close();
      await a.put(sampleRollout('acme', 'three'), 0);
      assert.equal(seen.length, 4, 'a closed watch is told nothing');
    });

    it('refuses a stored value that is not a rollout record, and the watch goes on', {
      skip: options.putRaw === undefined,
    }, async () => {
      const [a, b] = await open();
      const invalid: Error[] = [];
      const seen: RolloutChange[] = [];
      const watch = await b.watch({ change: (c) => seen.push(c), invalid: (e) => invalid.push(e) });
      closers.push(() => watch.close());
      await options.putRaw?.(a, 'r.acme.broken', '{"not":"a record"');
      await options.putRaw?.(a, 'r.acme.foreign', JSON.stringify(sampleRollout('globex', 'foreign')));
      await a.put(sampleRollout('acme', 'fine'), 0);
      await eventually(() => seen.length >= 1 && invalid.length >= 2, 5_000);
      assert.deepEqual(
        invalid.map((e) => (e as { code?: string }).code),
        ['ROLLOUT_RECORD_INVALID', 'ROLLOUT_RECORD_INVALID'],
      );
      await rejectsWithCode(b.get('acme', 'broken'), 'ROLLOUT_RECORD_INVALID');
      await rejectsWithCode(b.get('acme', 'foreign'), 'ROLLOUT_RECORD_INVALID');
      assert.equal(seen[0]?.definition, 'fine');
    });

    it('refuses work once closed with ROLLOUT_STORE_UNAVAILABLE', async () => {
      const [a] = await open();
      await a.close();
      await a.close(); // idempotent
      await rejectsWithCode(a.get('acme', 'one'), 'ROLLOUT_STORE_UNAVAILABLE');
      await rejectsWithCode(a.put(sampleRollout('acme', 'one'), 0), 'ROLLOUT_STORE_UNAVAILABLE');
      await rejectsWithCode(a.putStats('acme', 'one', 's', 'n', stats(1)), 'ROLLOUT_STORE_UNAVAILABLE');
    });
  });
}

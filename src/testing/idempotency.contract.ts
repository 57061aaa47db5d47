// The behaviour every IdempotencyStore must show. Run by bus/idempotency.test.ts (memory) and by
// test/integration/nats-idempotency.test.ts (JetStream KV).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { IdempotencyStore } from '../bus/index.ts';
import { rejectsWithCode } from './assertions.ts';
import { sleep } from './timing.ts';

export interface IdempotencyContractOptions {
  /**
   * Opens the store of the consumer `name` that remembers ids for `windowMs`; stores opened
   * under one name by one run of the suite share their ids (the same backend).
   */
  open: (name: string, windowMs: number) => Promise<IdempotencyStore>;
  /** Names the suite opened, for the caller to clean up (e.g. KV buckets). */
  opened?: (name: string) => void;
  /** Skip reason (server missing). */
  skip?: string | undefined;
}

/** Ids that are awkward on some backend: dots, spaces, wildcards, unicode, the longest a bus allows. */
const AWKWARD_IDS = ['with.dots and spaces', 'ünïcödé/>*', '.', '_', '>', 'a'.repeat(200), 'Xw'];

/**
 * Registers, with `node:test`, the suite every `IdempotencyStore` (the bus's record of message
 * ids already handled) must pass: ids known once added, kept apart however they are spelled,
 * forgotten after the window, shared between stores opened under one name, and `close()`.
 * @param name shown in the suite's title.
 */
export function idempotencyStoreContract(name: string, options: IdempotencyContractOptions): void {
  describe(`idempotency store contract: ${name}`, { skip: options.skip }, () => {
    const run = randomBytes(4).toString('hex');
    let n = 0;
    const stores: IdempotencyStore[] = [];
    async function open(windowMs = 60_000, consumer = `idem-${run}-${++n}`): Promise<IdempotencyStore> {
      options.opened?.(consumer);
      const store = await options.open(consumer, windowMs);
      stores.push(store);
      return store;
    }
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });

    it('an id is unknown until added, and known after', async () => {
      const store = await open();
      assert.equal(await store.has('m-1'), false);
      await store.add('m-1');
      assert.equal(await store.has('m-1'), true);
      assert.equal(await store.has('m-2'), false, 'only the id that was added');
      await store.add('m-1'); // adding twice is fine
      assert.equal(await store.has('m-1'), true);
    });

    it('keeps ids apart however they are spelled', async () => {
      const store = await open();
      for (const [i, id] of AWKWARD_IDS.entries()) {
        assert.equal(await store.has(id), false, `${JSON.stringify(id)} unknown at first`);
        await store.add(id);
        assert.equal(await store.has(id), true, `${JSON.stringify(id)} known`);
        for (const later of AWKWARD_IDS.slice(i + 1)) {
          assert.equal(
            await store.has(later),
            false,
            `${JSON.stringify(later)} is not ${JSON.stringify(id)}`,
          );
        }
      }
    });

    it('stores opened under one name share their ids; other names do not', async () => {
      const consumer = `idem-${run}-shared`;
      const one = await open(60_000, consumer);
      const two = await open(60_000, consumer);
      const other = await open();
      await one.add('shared-1');
      assert.equal(await two.has('shared-1'), true);
      assert.equal(await other.has('shared-1'), false);
    });

    it('forgets an id once its window has passed', async () => {
      const store = await open(1_000);
      await store.add('short-lived');
      assert.equal(await store.has('short-lived'), true);
      // Waits for a state (the id expired), polling; the backend's own expiry may run late.
      const deadline = Date.now() + 15_000;
      while (await store.has('short-lived')) {
        assert.ok(Date.now() < deadline, 'the id was still known long after its window');
        await sleep(100);
      }
    });

    it('after close, has and add fail with BUS_CLOSED, and close is idempotent', async () => {
      const store = await open();
      await store.add('x');
      await store.close();
      await store.close();
      await rejectsWithCode(store.has('x'), 'BUS_CLOSED');
      await rejectsWithCode(store.add('y'), 'BUS_CLOSED');
    });

    it('closing one store leaves another of the same name working', async () => {
      const consumer = `idem-${run}-close`;
      const one = await open(60_000, consumer);
      const two = await open(60_000, consumer);
      await one.add('kept');
      await one.close();
      assert.equal(await two.has('kept'), true);
    });
  });
}

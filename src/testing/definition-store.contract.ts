// The behaviour every definitions store must show. Run by spec/memory-definition-store.test.ts
// and by the NATS KV integration test.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { DefinitionChange, DefinitionStore, DefinitionWatch } from '../spec/index.ts';
import { rejectsWithCode } from './assertions.ts';

export interface DefinitionStoreContractOptions {
  /**
   * Opens two (or more) handles over one fresh backing (a new bucket), each as a separate node
   * would (its own connection). Called once per case; the suite closes what it returns.
   */
  open: () => Promise<DefinitionStore[]>;
  /** Writes `value` at `key` as something other than a store would (for refused values). */
  putRaw: (store: DefinitionStore, key: string, value: string) => Promise<void>;
  skip?: string | undefined;
}

/** A watch that records what it is told, and waits for the store's head. */
class Seen {
  readonly changes: DefinitionChange[] = [];
  readonly invalid: Array<{ code: string; revision: number }> = [];
  readonly #waiters: Array<{ revision: number; resolve: () => void }> = [];
  #at = 0;
  watch: DefinitionWatch | undefined;

  static async on(store: DefinitionStore): Promise<Seen> {
    const seen = new Seen();
    seen.watch = await store.watch({
      change: (change) => seen.#change(change),
      invalid: (error, revision) => seen.invalid.push({ code: error.code, revision }),
    });
    return seen;
  }

  #change(change: DefinitionChange): void {
    assert.ok(change.revision > this.#at, 'changes come in revision order');
    this.#at = change.revision;
    this.changes.push(change);
    for (const w of this.#waiters.splice(0))
      if (w.revision <= this.#at) w.resolve();
      else this.#waiters.push(w);
  }

  /** Resolves once every change up to the store's head has come. */
  async caughtUp(store: DefinitionStore): Promise<void> {
    const head = await store.head();
    if (head <= this.#at) return;
    await new Promise<void>((resolve) => this.#waiters.push({ revision: head, resolve }));
  }

  /** What the changes leave, `tenant/name` → text. */
  view(): Record<string, string> {
    const view: Record<string, string> = {};
    for (const c of this.changes) {
      if (c.tenant === undefined) continue;
      const key = `${c.tenant}/${c.name}`;
      if (c.text === undefined) delete view[key];
      else view[key] = c.text;
    }
    return view;
  }
}

const spec = (name: string) => `name: ${name}\ncognition:\n  type: llm\n  model: m\n`;

/**
 * Registers, with `node:test`, the suite every `DefinitionStore` must pass: texts put through
 * one handle read back and are watched through another, in revision order up to the head;
 * delete and a tenant's purge reach watchers and leave other tenants alone; tenants and names of
 * any characters; values that are not a tenant's definition (damaged, foreign, under a key of no
 * definition) are refused with `DEFINITION_RECORD_INVALID` and skipped while the watch goes on;
 * a closed store refuses work with `DEFINITION_STORE_UNAVAILABLE`.
 */
export function definitionStoreContract(name: string, options: DefinitionStoreContractOptions): void {
  describe(`definition store contract: ${name}`, { skip: options.skip }, () => {
    const opened: DefinitionStore[] = [];
    const watches: Seen[] = [];
    const open = async (): Promise<[DefinitionStore, DefinitionStore]> => {
      const stores = await options.open();
      opened.push(...stores);
      assert.ok(stores.length >= 2, 'open() gives two handles over the same data');
      return [stores[0] as DefinitionStore, stores[1] as DefinitionStore];
    };
    const watch = async (store: DefinitionStore) => {
      const seen = await Seen.on(store);
      watches.push(seen);
      return seen;
    };
    after(async () => {
      await Promise.all(watches.map((w) => w.watch?.close()));
      await Promise.all(opened.map((s) => s.close()));
    });

    it('puts texts through one handle that another reads back and watches, in order', async () => {
      const [a, b] = await open();
      const early = await watch(b);
      const r1 = await a.put('acme', 'helper', spec('helper'), 'yaml');
      const r2 = await a.put('acme', 'writer', '{"name":"writer"}', 'json');
      const r3 = await a.put('globex', 'helper', spec('helper'), 'yaml');
      assert.ok(r1 < r2 && r2 < r3, 'revisions increase over the store');
      assert.ok((await b.head()) >= r3);
      assert.deepEqual(await b.get('acme', 'writer'), {
        text: '{"name":"writer"}',
        format: 'json',
        revision: r2,
      });
      assert.equal(await b.get('acme', 'nobody'), undefined);
      assert.equal(await b.get('initech', 'helper'), undefined, 'another tenant’s is not its own');
      const late = await watch(b); // a watch begun later is told of what the store holds
      for (const seen of [early, late]) {
        await seen.caughtUp(b);
        assert.deepEqual(seen.view(), {
          'acme/helper': spec('helper'),
          'acme/writer': '{"name":"writer"}',
          'globex/helper': spec('helper'),
        });
      }
      const replaced = await b.put('acme', 'helper', spec('helper2'), 'yaml');
      assert.equal((await a.get('acme', 'helper'))?.revision, replaced);
      await early.caughtUp(a);
      assert.equal(early.view()['acme/helper'], spec('helper2'));
      assert.equal(early.changes.at(-1)?.format, 'yaml');
    });

    it('deletes one, and purges a tenant’s, telling every watcher and leaving other tenants', async () => {
      const [a, b] = await open();
      const seen = await watch(b);
      for (const n of ['one', 'two', 'three']) await a.put('acme', n, spec(n), 'yaml');
      await a.put('globex', 'one', spec('one'), 'yaml');
      assert.equal(await b.delete('acme', 'two'), true);
      assert.equal(await b.delete('acme', 'two'), false, 'false when it is not there');
      assert.equal(await a.get('acme', 'two'), undefined);
      assert.equal(await a.purgeTenant('acme'), 2);
      assert.equal(await a.purgeTenant('acme'), 0);
      assert.equal(await b.get('acme', 'one'), undefined);
      assert.equal((await b.get('globex', 'one'))?.text, spec('one'));
      await seen.caughtUp(a);
      assert.deepEqual(seen.view(), { 'globex/one': spec('one') });
      const late = await watch(a);
      await late.caughtUp(a);
      assert.deepEqual(late.view(), { 'globex/one': spec('one') }, 'a new watch sees the deletions too');
      await a.put('acme', 'one', spec('one'), 'yaml'); // a purged tenant may start again
      assert.equal((await b.get('acme', 'one'))?.text, spec('one'));
    });

    it('keeps tenants and names of any characters apart', async () => {
      const [a, b] = await open();
      await a.put('t.with.dots', 'a b', 'x', 'yaml');
      await a.put('t', 'with.dots.a b', 'y', 'yaml');
      await a.put('ünï', '*', 'z', 'json');
      assert.equal((await b.get('t.with.dots', 'a b'))?.text, 'x');
      assert.equal((await b.get('t', 'with.dots.a b'))?.text, 'y');
      assert.equal((await b.get('ünï', '*'))?.format, 'json');
      assert.equal(await b.purgeTenant('t'), 1);
      assert.equal((await b.get('t.with.dots', 'a b'))?.text, 'x');
    });

    it('refuses values that are not a tenant’s definition, and the watch goes on', async () => {
      const [a, b] = await open();
      const seen = await watch(b);
      await a.put('acme', 'good', spec('good'), 'yaml');
      await options.putRaw(a, 'd.acme.damaged', 'not json');
      await options.putRaw(a, 'd.acme.shape', '{"v":2,"tenant":"acme","name":"shape","text":"x"}');
      // Another tenant's value copied under acme's key is foreign.
      await options.putRaw(
        a,
        'd.acme.stolen',
        JSON.stringify({ v: 1, tenant: 'globex', name: 'stolen', format: 'yaml', text: spec('stolen') }),
      );
      await options.putRaw(a, 'elsewhere', '{}');
      await a.put('acme', 'after', spec('after'), 'yaml');
      await seen.caughtUp(a);
      assert.deepEqual(
        seen.invalid.map((i) => i.code),
        Array(4).fill('DEFINITION_RECORD_INVALID'),
      );
      assert.deepEqual(Object.keys(seen.view()).sort(), ['acme/after', 'acme/good']);
      await rejectsWithCode(b.get('acme', 'damaged'), 'DEFINITION_RECORD_INVALID');
      await rejectsWithCode(b.get('acme', 'stolen'), 'DEFINITION_RECORD_INVALID');
      const late = await watch(b);
      await late.caughtUp(b);
      assert.equal(late.invalid.length, 4, 'a new watch refuses them too');
    });

    it('a closed store refuses work with DEFINITION_STORE_UNAVAILABLE', async () => {
      const [a] = await open();
      await a.close();
      await a.close(); // idempotent
      await rejectsWithCode(a.put('acme', 'x', 'x', 'yaml'), 'DEFINITION_STORE_UNAVAILABLE');
      await rejectsWithCode(a.head(), 'DEFINITION_STORE_UNAVAILABLE');
      await rejectsWithCode(a.watch({ change: () => {}, invalid: () => {} }), 'DEFINITION_STORE_UNAVAILABLE');
    });
  });
}

// The behaviour every agent directory must show. Run by cluster/memory-agent-directory.test.ts
// and by the NATS KV integration test.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AgentDirectory, AgentRecord } from '../cluster/index.ts';
import { rejectsWithCode } from './assertions.ts';

export interface AgentDirectoryContractOptions {
  /**
   * Opens two (or more) directories over one fresh backing (a new bucket), each as a separate
   * node would (its own connection). Called once per case; the suite closes what it returns.
   */
  open: () => Promise<AgentDirectory[]>;
  /**
   * Writes a row that is not a valid record where `dir` would look for one, and says whose it
   * is (for adapters that can hold such a row; the case is skipped without it).
   */
  corrupt?: (dir: AgentDirectory) => Promise<{ tenant: string | undefined; id: string }>;
  skip?: string | undefined;
}

/** A valid record of `tenant`'s agent `id` (fields overridable). */
function agent(tenant: string | undefined, id: string, extra: Partial<AgentRecord> = {}): AgentRecord {
  return {
    v: 1,
    ...(tenant === undefined ? {} : { tenant }),
    id,
    definition: 'assistant',
    createdAt: 1_700_000_000_000,
    ...extra,
  };
}

/**
 * Registers, with `node:test`, the suite every `AgentDirectory` must pass: records round-trip
 * as copies, one record per (tenant, id), compare-and-set updates and deletes with exactly one
 * winner of a race between nodes, listing in id order with paging, tenant isolation and purge,
 * ids of any characters, refusal of invalid or oversized records, corrupt rows reported as
 * `AGENT_RECORD_CORRUPT`, and a closed directory refusing work with a typed error.
 */
export function agentDirectoryContract(name: string, options: AgentDirectoryContractOptions): void {
  describe(`agent directory contract: ${name}`, { skip: options.skip }, () => {
    const opened: AgentDirectory[] = [];
    const open = async (): Promise<[AgentDirectory, AgentDirectory]> => {
      const dirs = await options.open();
      opened.push(...dirs);
      assert.ok(dirs.length >= 2, 'open() gives two directories over the same data');
      return [dirs[0] as AgentDirectory, dirs[1] as AgentDirectory];
    };
    after(async () => {
      await Promise.all(opened.map((d) => d.close()));
    });

    it('creates and reads back a record, as a copy no caller can change in place', async () => {
      const [a, b] = await open();
      const record = agent('acme', 'bot-1', {
        config: { model: 'small', tools: ['search'] },
        state: { values: { count: 3, nested: { deep: true } }, tags: ['vip'] },
        owner: 'node-a',
      });
      const stored = await a.create(record);
      assert.ok(Number.isInteger(stored.revision) && stored.revision > 0);
      assert.deepEqual(stored.record, record);
      (record.state as { values: Record<string, unknown> }).values.count = 99;
      assert.equal(stored.record.state?.values.count, 3, 'the stored record is not the caller’s object');
      const read = await b.get('acme', 'bot-1');
      assert.ok(read);
      assert.equal(read.revision, stored.revision);
      assert.deepEqual(read.record.state?.values, { count: 3, nested: { deep: true } });
      (read.record.config as { tools: string[] }).tools.push('mutated');
      assert.deepEqual((await a.get('acme', 'bot-1'))?.record.config, { model: 'small', tools: ['search'] });
      assert.equal(await b.get('acme', 'nobody'), undefined);
    });

    it('refuses a duplicate id with AGENT_EXISTS, per tenant, the system scope apart', async () => {
      const [a, b] = await open();
      await a.create(agent('acme', 'bot'));
      const error = await rejectsWithCode(
        b.create(agent('acme', 'bot', { definition: 'other' })),
        'AGENT_EXISTS',
      );
      assert.equal(error.details?.agentId, 'bot');
      assert.equal((await a.get('acme', 'bot'))?.record.definition, 'assistant', 'the first record stays');
      await b.create(agent('globex', 'bot', { definition: 'globex-def' }));
      await b.create(agent(undefined, 'bot', { definition: 'system-def' }));
      await a.create(agent('acme', 'acme-only'));
      assert.equal((await a.get('acme', 'bot'))?.record.definition, 'assistant');
      assert.equal((await a.get('globex', 'bot'))?.record.definition, 'globex-def');
      assert.equal((await a.get(undefined, 'bot'))?.record.definition, 'system-def');
      assert.equal(await b.get('globex', 'acme-only'), undefined, 'a tenant never sees another’s record');
      assert.equal(await b.get(undefined, 'acme-only'), undefined);
      assert.equal(await b.get('_', 'bot'), undefined, 'a tenant named "_" is not the system scope');
      await rejectsWithCode(a.create(agent(undefined, 'bot')), 'AGENT_EXISTS');
    });

    it('updates at the current revision; a stale or unknown revision changes nothing', async () => {
      const [a, b] = await open();
      const first = await a.create(agent('acme', 'bot'));
      const second = await b.update(agent('acme', 'bot', { owner: 'node-b' }), first.revision);
      assert.ok(second);
      assert.ok(second.revision > first.revision);
      assert.equal(second.record.owner, 'node-b');
      assert.equal(await a.update(agent('acme', 'bot', { owner: 'node-a' }), first.revision), undefined);
      assert.equal(await a.update(agent('acme', 'bot', { owner: 'node-a' }), 0), undefined);
      const read = await a.get('acme', 'bot');
      assert.equal(read?.record.owner, 'node-b');
      assert.equal(read?.revision, second.revision);
      assert.equal(await a.update(agent('acme', 'absent'), second.revision), undefined);
      assert.equal(await a.get('acme', 'absent'), undefined, 'an update never creates');
      const hibernated = await a.update(
        agent('acme', 'bot', { hibernatedAt: 1_700_000_001_000, state: { values: { n: 1 }, tags: [] } }),
        second.revision,
      );
      assert.equal(hibernated?.record.owner, undefined, 'an update replaces the whole record');
      assert.deepEqual((await b.get('acme', 'bot'))?.record, hibernated?.record);
    });

    it('of many nodes racing for one revision, exactly one wins', async () => {
      const [a, b] = await open();
      const { revision } = await a.create(agent('acme', 'contested'));
      const tries = Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).update(agent('acme', 'contested', { owner: `node-${i}` }), revision),
      );
      const won = (await Promise.all(tries)).filter((r) => r !== undefined);
      assert.equal(won.length, 1, `${won.length} winners`);
      const read = await b.get('acme', 'contested');
      assert.equal(read?.record.owner, won[0]?.record.owner);
      assert.equal(read?.revision, won[0]?.revision);
    });

    it('deletes at a revision or unconditionally; false when absent or changed', async () => {
      const [a, b] = await open();
      const first = await a.create(agent('acme', 'bot'));
      const second = await a.update(agent('acme', 'bot', { owner: 'n1' }), first.revision);
      assert.ok(second);
      assert.equal(await b.delete('acme', 'bot', first.revision), false, 'a stale revision deletes nothing');
      assert.ok(await a.get('acme', 'bot'));
      assert.equal(await b.delete('acme', 'bot', second.revision), true);
      assert.equal(await a.get('acme', 'bot'), undefined);
      assert.equal(await a.delete('acme', 'bot'), false);
      assert.equal(await a.delete('acme', 'bot', second.revision), false);
      assert.equal(await a.update(agent('acme', 'bot'), second.revision), undefined, 'gone is not updatable');
      const again = await b.create(agent('acme', 'bot', { definition: 'reborn' }));
      assert.ok(again.revision > second.revision, 'a re-created record has a newer revision');
      assert.equal(await a.delete('globex', 'bot'), false, 'another tenant’s id deletes nothing');
      assert.equal(await a.delete('acme', 'bot'), true);
      assert.equal(await b.get('acme', 'bot'), undefined);
      assert.deepEqual(await b.list('acme'), []);
    });

    it('lists a tenant’s records in id order, paged, and only that tenant’s', async () => {
      const [a, b] = await open();
      const ids = ['m', 'b', 'z', 'a', 'k', 'b2', 'A'];
      for (const id of ids) await a.create(agent('acme', id));
      await a.create(agent('globex', 'c'));
      await a.create(agent(undefined, 'sys'));
      await a.create(agent('acme-eu', 'x'));
      const sorted = [...ids].sort();
      assert.deepEqual(
        (await b.list('acme')).map((r) => r.id),
        sorted,
      );
      const pages: string[][] = [];
      let afterId: string | undefined;
      for (;;) {
        const page = await b.list('acme', { limit: 3, ...(afterId === undefined ? {} : { after: afterId }) });
        if (page.length === 0) break;
        pages.push(page.map((r) => r.id));
        afterId = page.at(-1)?.id;
      }
      assert.deepEqual(pages, [sorted.slice(0, 3), sorted.slice(3, 6), sorted.slice(6)]);
      assert.deepEqual(
        (await b.list('acme', { after: 'b' })).map((r) => r.id),
        ['b2', 'k', 'm', 'z'],
      );
      assert.deepEqual(
        (await b.list('acme', { after: 'c', limit: 1 })).map((r) => r.id),
        ['k'],
      );
      assert.deepEqual(
        (await b.list('globex')).map((r) => r.id),
        ['c'],
      );
      assert.deepEqual(
        (await b.list(undefined)).map((r) => r.id),
        ['sys'],
      );
      assert.deepEqual(await b.list('nobody'), []);
      assert.equal((await b.list('acme', { limit: 10_000 })).length, ids.length);
      await rejectsWithCode(b.list('acme', { limit: 10_001 }), 'INVALID_OPTIONS');
      await rejectsWithCode(b.list('acme', { limit: 0 }), 'INVALID_OPTIONS');
      await rejectsWithCode(b.list('acme', { limit: 1.5 }), 'INVALID_OPTIONS');
    });

    it('purges a tenant’s records and no one else’s', async () => {
      const [a, b] = await open();
      for (const id of ['x', 'y', 'z']) await a.create(agent('acme', id));
      await a.delete('acme', 'z');
      await a.create(agent('globex', 'x'));
      await a.create(agent(undefined, 'x'));
      await a.create(agent('acme-eu', 'x'));
      assert.equal(await b.purgeTenant('acme'), 2);
      assert.deepEqual(await a.list('acme'), []);
      assert.equal(await a.get('acme', 'x'), undefined);
      assert.ok(await a.get('globex', 'x'));
      assert.ok(await a.get(undefined, 'x'));
      assert.ok(await a.get('acme-eu', 'x'));
      assert.equal(await b.purgeTenant('acme'), 0);
      assert.equal(await b.purgeTenant('nobody'), 0);
      await a.create(agent('acme', 'x'));
      assert.deepEqual(
        (await b.list('acme')).map((r) => r.id),
        ['x'],
      );
    });

    it('takes ids and tenants of any characters', async () => {
      const [a, b] = await open();
      const ids = [
        'a.b.c',
        'with space',
        'colon:x',
        'slash/and\\back',
        'ünï-çødé 日本語 🤖',
        '_',
        '=x',
        '*',
        '>',
        'a'.repeat(64),
        'b'.repeat(65),
        'é'.repeat(256),
      ];
      for (const tenant of ['acme.eu', 'tenant with space', '_', undefined])
        for (const id of ids) await a.create(agent(tenant, id, { config: { id } }));
      for (const tenant of ['acme.eu', 'tenant with space', '_', undefined]) {
        for (const id of ids) assert.equal((await b.get(tenant, id))?.record.id, id, `${tenant}/${id}`);
        assert.deepEqual(
          (await b.list(tenant)).map((r) => r.id),
          [...ids].sort(),
        );
      }
      assert.equal(await b.get('acme', 'a.b.c'), undefined);
      assert.equal(await b.get('acme.eu', 'a'), undefined, 'a dotted id is no key prefix');
      assert.equal(await b.purgeTenant('acme.eu'), ids.length);
      assert.equal((await b.list('_')).length, ids.length);
    });

    it('refuses an invalid or oversized record with INVALID_OPTIONS', async () => {
      const [a] = await open();
      await rejectsWithCode(
        a.create({ ...agent('acme', 'bot'), v: 2 } as unknown as AgentRecord),
        'INVALID_OPTIONS',
      );
      await rejectsWithCode(a.create(agent('acme', '')), 'INVALID_OPTIONS');
      await rejectsWithCode(a.create(agent('acme', 'x'.repeat(257))), 'INVALID_OPTIONS');
      await rejectsWithCode(
        a.create({ ...agent('acme', 'bot'), extra: 1 } as unknown as AgentRecord),
        'INVALID_OPTIONS',
      );
      const huge = agent('acme', 'huge', { config: { blob: 'x'.repeat(1_100_000) } });
      const error = await rejectsWithCode(a.create(huge), 'INVALID_OPTIONS');
      assert.match(error.message, /bytes encoded/);
      assert.equal(await a.get('acme', 'huge'), undefined);
      const { revision } = await a.create(agent('acme', 'bot'));
      await rejectsWithCode(a.update(huge, revision), 'INVALID_OPTIONS');
      const big = await a.create(agent('acme', 'big', { config: { blob: 'x'.repeat(900_000) } }));
      assert.ok(big.revision > 0, 'a record under the cap is taken');
    });

    it('reports a row that is not a valid record as AGENT_RECORD_CORRUPT', {
      skip: options.corrupt === undefined ? 'this directory cannot hold a bad row' : false,
    }, async () => {
      const [a, b] = await open();
      const bad = await (options.corrupt as NonNullable<typeof options.corrupt>)(a);
      await rejectsWithCode(b.get(bad.tenant, bad.id), 'AGENT_RECORD_CORRUPT');
      await rejectsWithCode(b.list(bad.tenant), 'AGENT_RECORD_CORRUPT');
      assert.equal(await a.delete(bad.tenant, bad.id), true, 'a corrupt row can still be deleted');
      assert.equal(await b.get(bad.tenant, bad.id), undefined);
    });

    it('refuses work once closed, with AGENT_DIRECTORY_UNAVAILABLE', async () => {
      const [a] = await open();
      await a.create(agent('acme', 'bot'));
      await a.close();
      await a.close();
      await rejectsWithCode(a.get('acme', 'bot'), 'AGENT_DIRECTORY_UNAVAILABLE');
      await rejectsWithCode(a.create(agent('acme', 'other')), 'AGENT_DIRECTORY_UNAVAILABLE');
      await rejectsWithCode(a.update(agent('acme', 'bot'), 1), 'AGENT_DIRECTORY_UNAVAILABLE');
      await rejectsWithCode(a.delete('acme', 'bot'), 'AGENT_DIRECTORY_UNAVAILABLE');
      await rejectsWithCode(a.list('acme'), 'AGENT_DIRECTORY_UNAVAILABLE');
      await rejectsWithCode(a.purgeTenant('acme'), 'AGENT_DIRECTORY_UNAVAILABLE');
    });
  });
}

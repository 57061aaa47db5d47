// The behaviour every lease store must show. Run by cluster/memory-lease-store.test.ts and by
// the NATS KV integration test.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { LeaseStore } from '../cluster/index.ts';
import { rejectsWithCode } from './assertions.ts';

export interface LeaseStoreContractOptions {
  /**
   * Opens `clients` stores over one fresh backing (one bucket), each as a separate node would
   * (its own connection), with the given lease time.
   */
  open: (leaseMs: number, clients: number) => Promise<LeaseStore[]>;
  /** Lease time for the expiry case, ms (a server may expire coarsely). Default 300. */
  shortLeaseMs?: number;
  skip?: string | undefined;
}

const until = async (check: () => Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
};

/**
 * Registers, with `node:test`, the suite every `LeaseStore` must pass: one holder per key,
 * renewals and releases only by the current lease, expiry of unrenewed leases so another node
 * can take them, racing acquirers with exactly one winner per key, listing by prefix.
 */
export function leaseStoreContract(name: string, options: LeaseStoreContractOptions): void {
  describe(`lease store contract: ${name}`, { skip: options.skip }, () => {
    const opened: LeaseStore[] = [];
    const open = async (leaseMs: number, clients: number) => {
      const stores = await options.open(leaseMs, clients);
      opened.push(...stores);
      return stores;
    };
    after(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });

    it('gives a key to one holder; renews and releases only by the current lease', async () => {
      const [a, b] = await open(10_000, 2);
      const before = performance.now();
      const lease = await a!.acquire('agent.acme.bot', 'node-a');
      assert.ok(lease);
      assert.ok(lease.validUntil <= before + a!.leaseMs + 1_000 && lease.validUntil > before);
      assert.equal(await b!.acquire('agent.acme.bot', 'node-b'), undefined);
      assert.deepEqual((await b!.holder('agent.acme.bot'))?.owner, 'node-a');
      const renewed = await a!.renew(lease);
      assert.ok(renewed.revision > lease.revision);
      await rejectsWithCode(a!.renew(lease), 'LEASE_LOST');
      assert.equal(await a!.release(lease), false, 'a stale lease releases nothing');
      assert.equal(await a!.release(renewed), true);
      assert.equal(await b!.holder('agent.acme.bot'), undefined);
      const taken = await b!.acquire('agent.acme.bot', 'node-b');
      assert.equal(taken?.owner, 'node-b');
      await rejectsWithCode(a!.renew(renewed), 'LEASE_LOST');
    });

    it('frees a lease that is not renewed within the lease time', async () => {
      const leaseMs = options.shortLeaseMs ?? 300;
      const [a, b] = await open(leaseMs, 2);
      const lease = await a!.acquire('node.a', 'node-a');
      assert.ok(lease);
      assert.ok(await until(async () => (await b!.acquire('node.a', 'node-b')) !== undefined, leaseMs * 10));
      await rejectsWithCode(a!.renew(lease), 'LEASE_LOST');
    });

    it('of many racing acquirers, exactly one wins each key', async () => {
      const stores = await open(10_000, 4);
      const keys = Array.from({ length: 25 }, (_, i) => `agent.t.k${i}`);
      const results = await Promise.all(
        stores.flatMap((s, n) =>
          keys.map(async (key) => ({ key, lease: await s.acquire(key, `node-${n}`) })),
        ),
      );
      for (const key of keys) {
        const winners = results.filter((r) => r.key === key && r.lease !== undefined);
        assert.equal(winners.length, 1, `${key}: ${winners.length} winners`);
        assert.equal((await stores[0]!.holder(key))?.owner, winners[0]?.lease?.owner);
      }
    });

    it('lists the keys held under a prefix', async () => {
      const [a] = await open(10_000, 1);
      await a!.acquire('node.n1', 'n1');
      await a!.acquire('node.n2', 'n2');
      await a!.acquire('agent.x', 'n1');
      const nodes = await a!.list('node.');
      assert.deepEqual([...nodes.keys()].sort(), ['node.n1', 'node.n2']);
      assert.equal(nodes.get('node.n2')?.owner, 'n2');
    });

    it('refuses a key that is not dot-separated tokens', async () => {
      const [a] = await open(10_000, 1);
      await rejectsWithCode(a!.acquire('agent..x', 'n1'), 'INVALID_OPTIONS');
      await rejectsWithCode(a!.acquire('agent x', 'n1'), 'INVALID_OPTIONS');
    });
  });
}

// `node.shared`: two nodes of one cluster in this process (one bus, one directory, one lease
// store) share named CRDTs; a node outside a cluster has none.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterNodes } from '../../test/cluster-nodes.ts';
import { eventually, liveResources, noMoreResourcesThan } from '../../test/helpers.ts';
import { withTenant } from '../context/index.ts';
import { createNode } from './index.ts';

describe('node.shared', () => {
  it('is a replicator every node of the cluster shares: a counter incremented on A is read on B', async () => {
    const baseline = liveResources();
    const {
      nodes: [a, b],
      close,
    } = await clusterNodes(2);
    assert.ok(a && b);
    assert.ok(a.shared && b.shared);
    assert.equal(a.shared.name, 'agentfleet-shared');
    assert.match(a.shared.node, /^node-a@[0-9a-f]{8}$/);
    const onA = a.shared.crdt('visits', 'g-counter');
    const onB = b.shared.crdt('visits', 'g-counter');
    onA.update((c) => c.increment(3));
    onB.update((c) => c.increment(2));
    await eventually(() => onA.value() === 5 && onB.value() === 5);
    const owner = b.shared.crdt('owner', 'lww-register');
    owner.update((r) => r.set('b'));
    await eventually(() => a.shared?.crdt('owner', 'lww-register').value() === 'b');
    // It is the system scope's: code running as a tenant may read it, not change it.
    withTenant('acme', () => {
      assert.equal(onA.value(), 5);
      assert.throws(() => onA.update((c) => c.increment()), { code: 'TENANT_MISMATCH' });
    });
    await close();
    assert.throws(() => onA.update((c) => c.increment()), { code: 'CRDT_REPLICATOR_CLOSED' });
    await noMoreResourcesThan(baseline);
  });

  it('is undefined outside a cluster', async () => {
    await using node = await createNode({ logLevel: 'silent', auth: 'none' });
    assert.equal(node.shared, undefined);
  });
});

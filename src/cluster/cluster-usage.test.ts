// ClusterUsage on its own: replicas on one in-memory bus. A replica that opens late learns the
// counts from its peers' digests; one that missed a tenant's deletion takes the newer
// generation when it sees it; options are checked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, rejectsWithCode } from '../../test/helpers.ts';
import { createBus, MemoryHub, MemoryTransport } from '../bus/index.ts';
import { withTenant } from '../context/index.ts';
import { ClusterUsage } from './index.ts';

function bus(hub: MemoryHub) {
  return createBus({ transport: new MemoryTransport(hub) });
}

describe('ClusterUsage', () => {
  it('a replica that opens late reads the counts once its peers’ digests reach it', async () => {
    const hub = new MemoryHub();
    const [busA, busB] = [bus(hub), bus(hub)];
    const a = await ClusterUsage.open({ bus: busA, node: 'a', name: 'usage', antiEntropyMs: 20 });
    // Called inside a tenant, as ClusterFleet does: the counters still change in the system scope.
    withTenant('acme', () => {
      a.agentCreated('acme');
      a.agentCreated('acme');
      a.agentRemoved('acme');
      a.messageHandled('acme');
    });
    assert.deepEqual(a.of('acme'), { agents: 1, messages: 1 }, 'this node’s own count at once');
    a.flush();
    const b = await ClusterUsage.open({ bus: busB, node: 'b', name: 'usage', antiEntropyMs: 20 });
    await eventually(() => b.of('acme').agents === 1 && b.of('acme').messages === 1);
    assert.deepEqual(b.of('globex'), { agents: 0, messages: 0 });
    await a.close();
    await b.close();
    await Promise.all([busA.close(), busB.close()]);
  });

  it('a replica that missed a tenant’s deletion takes the newer generation and drops the old', async () => {
    const hub = new MemoryHub();
    const [busA, busB] = [bus(hub), bus(hub)];
    const a = await ClusterUsage.open({ bus: busA, node: 'a', name: 'usage', antiEntropyMs: 20 });
    const b = await ClusterUsage.open({ bus: busB, node: 'b', name: 'usage', antiEntropyMs: 20 });
    for (let i = 0; i < 3; i++) a.agentCreated('acme');
    await eventually(() => b.of('acme').agents === 3);
    a.dropTenant('acme', 1_000); // b is not told
    a.agentCreated('acme'); // the tenant made anew: generation 1000
    await eventually(() => b.of('acme').agents === 1);
    assert.equal(b.size, 1, 'the old generation’s counter is gone');
    await a.close();
    await b.close();
    await Promise.all([busA.close(), busB.close()]);
  });

  it('checks its options', async () => {
    const b = bus(new MemoryHub());
    await rejectsWithCode(
      ClusterUsage.open({ bus: b, node: 'a', name: 'usage', flushMs: 0 }),
      'INVALID_OPTIONS',
    );
    await rejectsWithCode(
      ClusterUsage.open({ bus: b, node: 'bad id!', name: 'usage' }),
      'CRDT_NODE_ID_INVALID',
    );
    await b.close();
  });
});

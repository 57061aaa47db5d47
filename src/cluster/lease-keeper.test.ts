import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { LeaseKeeper, Membership, MemoryLeaseStore } from './index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LeaseKeeper', () => {
  it('keeps its leases past the lease time by renewing them on one timer', async () => {
    const store = new MemoryLeaseStore({ leaseMs: 100 });
    const a = new LeaseKeeper({ store, owner: 'a' });
    const b = new LeaseKeeper({ store, owner: 'b' });
    assert.equal(await a.take('agent.k1'), true);
    assert.equal(await a.take('agent.k1'), true, 'taking what it holds is a no-op');
    await sleep(350);
    assert.equal(a.holds('agent.k1'), true);
    assert.equal(await b.take('agent.k1'), false);
    await a.give('agent.k1');
    assert.equal(a.holds('agent.k1'), false);
    assert.equal(await b.take('agent.k1'), true);
    await a.close();
    await b.close();
  });

  it('a node that stops renewing (a crash) loses its keys to another within the lease time', async () => {
    const store = new MemoryLeaseStore({ leaseMs: 100 });
    const lost: string[] = [];
    const a = new LeaseKeeper({ store, owner: 'a', onLost: (key) => lost.push(key) });
    const b = new LeaseKeeper({ store, owner: 'b' });
    await a.take('agent.k1');
    a.abandon();
    assert.equal(await b.take('agent.k1'), false);
    await sleep(150);
    assert.equal(await b.take('agent.k1'), true);
    await b.close();
  });

  it('tells onLost when another node took a lease it thought it held', async () => {
    const store = new MemoryLeaseStore({ leaseMs: 60 });
    const lost: Array<[string, string]> = [];
    const a = new LeaseKeeper({
      store,
      owner: 'a',
      renewEveryMs: 1_000,
      onLost: (key, why) => lost.push([key, why]),
    });
    await a.take('agent.k1');
    await sleep(80); // expired in the store before a renewed it
    const b = new LeaseKeeper({ store, owner: 'b' });
    await b.take('agent.k1');
    assert.equal(a.holds('agent.k1'), false, 'past its validity a holder never claims the key');
    await a.renewAll();
    assert.deepEqual(lost, [['agent.k1', 'taken']]);
    await a.close();
    await b.close();
  });
});

describe('Membership', () => {
  it('lists the live nodes; a leaving node drops out at once, a crashed one within the lease time', async () => {
    const store = new MemoryLeaseStore({ leaseMs: 100 });
    const n1 = await Membership.join(store, 'n1');
    const n2 = await Membership.join(store, 'n2');
    const n3 = await Membership.join(store, 'n3');
    assert.deepEqual(await n1.members(), ['n1', 'n2', 'n3']);
    await rejectsWithCode(Membership.join(store, 'n2'), 'NODE_ID_TAKEN');
    await n2.leave();
    assert.deepEqual(await n1.members(), ['n1', 'n3']);
    n3.keeper.abandon();
    await sleep(150);
    assert.deepEqual(await n1.members(), ['n1']);
    await n1.leave();
  });
});

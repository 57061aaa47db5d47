// Two and three fleets on one in-memory bus, with a host that keeps agents in a map: routing
// to the owner, one activation per agent under a race, hibernation with state, hand-over on
// leave, and the errors of unknown agents and definitions.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createBus, MemoryHub, MemoryTransport } from '../bus/index.ts';
import { withTenant } from '../context/index.ts';
import { AgentNotFoundError } from '../core/index.ts';
import { rejectsWithCode } from '../testing/index.ts';
import {
  type AgentCall,
  type AgentRecord,
  type AgentStateSnapshot,
  ClusterFleet,
  type CreateFleetAgent,
  type FleetHost,
  MemoryAgentDirectory,
  MemoryLeaseStore,
} from './index.ts';

class MapHost implements FleetHost {
  readonly agents = new Map<string, { state: AgentStateSnapshot | undefined; handled: number }>();
  activations = 0;
  readonly node: string;
  constructor(node: string) {
    this.node = node;
  }
  has(id: string) {
    return this.agents.has(id);
  }
  prepare(agent: CreateFleetAgent) {
    if (agent.definition !== 'echo') throw new Error('no such definition');
    return { id: agent.id ?? 'x', definition: agent.definition };
  }
  canActivate(definition: string) {
    return definition === 'echo';
  }
  async activate(record: AgentRecord) {
    this.activations++;
    this.agents.set(record.id, { state: record.state, handled: 0 });
  }
  async deactivate(id: string) {
    const state = this.agents.get(id)?.state;
    this.agents.delete(id);
    return state;
  }
  snapshot(id: string) {
    return this.agents.get(id)?.state;
  }
  busy() {
    return false;
  }
  async invoke(id: string, call: AgentCall) {
    const agent = this.agents.get(id);
    if (agent === undefined) throw new AgentNotFoundError(id);
    if (call.op === 'send')
      return { output: { node: this.node, input: call.input, handled: ++agent.handled } };
    if (call.op === 'state' && call.state.op === 'patch') {
      agent.state = { values: { ...agent.state?.values, ...call.state.values }, tags: [] };
      return { ok: true };
    }
    if (call.op === 'state' && call.state.op === 'get') return agent.state;
    return { id, node: this.node };
  }
}

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of opened.reverse()) await item.close();
  opened.length = 0;
});

async function cluster(n: number, options: { hibernateAfterMs?: number; leaseMs?: number } = {}) {
  const hub = new MemoryHub();
  const leases = new MemoryLeaseStore({ leaseMs: options.leaseMs ?? 2_000 });
  const directory = new MemoryAgentDirectory();
  const nodes: Array<{ fleet: ClusterFleet; host: MapHost }> = [];
  for (let i = 0; i < n; i++) {
    const bus = createBus({ transport: new MemoryTransport(hub) });
    const host = new MapHost(`n${i}`);
    const fleet = await ClusterFleet.open({
      nodeId: `n${i}`,
      bus,
      directory,
      leases,
      host,
      ...(options.hibernateAfterMs === undefined ? {} : { hibernateAfterMs: options.hibernateAfterMs }),
    });
    opened.push(bus, fleet);
    nodes.push({ fleet, host });
  }
  for (const node of nodes) await node.fleet.tick();
  return { nodes, directory };
}

describe('ClusterFleet', () => {
  it('answers from the one node that has the agent, whichever node is asked', async () => {
    const { nodes, directory } = await cluster(3);
    await withTenant('acme', () => nodes[0]!.fleet.create({ definition: 'echo', id: 'a1' }));
    const owner = (await directory.get('acme', 'a1'))?.record.owner;
    assert.ok(owner !== undefined);
    for (const { fleet } of nodes) {
      const reply = await withTenant('acme', () => fleet.send('a1', 'hi'));
      assert.equal((reply.output as { node: string }).node, owner);
    }
    assert.equal(
      nodes.reduce((sum, n) => sum + n.host.activations, 0),
      1,
    );
    // Another tenant does not see it.
    await rejectsWithCode(
      withTenant('other', () => nodes[1]!.fleet.send('a1', 'hi')),
      'AGENT_NOT_FOUND',
    );
  });

  it('activates an agent once when every node races for it', async () => {
    const { nodes, directory } = await cluster(3);
    for (let i = 0; i < 20; i++)
      await directory.create({
        v: 1,
        tenant: 'acme',
        id: `r${i}`,
        definition: 'echo',
        createdAt: Date.now(),
      });
    await Promise.all(
      nodes.flatMap(({ fleet }) =>
        Array.from({ length: 20 }, (_, i) => withTenant('acme', () => fleet.send(`r${i}`, i))),
      ),
    );
    assert.equal(
      nodes.reduce((sum, n) => sum + n.host.activations, 0),
      20,
    );
    for (let i = 0; i < 20; i++) {
      const holders = nodes.filter((n) => n.host.has(`r${i}`));
      assert.equal(holders.length, 1, `r${i} is active on ${holders.length} nodes`);
    }
  });

  it('hibernates an idle agent with its state, and wakes it with that state', async () => {
    const { nodes, directory } = await cluster(2, { hibernateAfterMs: 1 });
    const [a] = nodes as [{ fleet: ClusterFleet; host: MapHost }];
    await withTenant('acme', () => a.fleet.create({ definition: 'echo', id: 's1' }));
    await withTenant('acme', () => a.fleet.state('s1', { op: 'patch', values: { n: 1 } }));
    // The write is in the record before it is answered.
    assert.deepEqual((await directory.get('acme', 's1'))?.record.state?.values, { n: 1 });
    await new Promise((r) => setTimeout(r, 5));
    for (const { fleet } of nodes) await fleet.tick();
    const stored = (await directory.get('acme', 's1'))?.record;
    assert.equal(stored?.owner, undefined);
    assert.ok(stored?.hibernatedAt !== undefined);
    assert.ok(nodes.every((n) => !n.host.has('s1')));
    assert.deepEqual(await withTenant('acme', () => nodes[1]!.fleet.state('s1', { op: 'get' })), {
      values: { n: 1 },
      tags: [],
    });
  });

  it('hands its agents over when a node leaves', async () => {
    const { nodes, directory } = await cluster(2);
    const [a, b] = nodes as [{ fleet: ClusterFleet; host: MapHost }, { fleet: ClusterFleet; host: MapHost }];
    for (let i = 0; i < 10; i++)
      await withTenant('acme', () => a.fleet.create({ definition: 'echo', id: `h${i}` }));
    const onA = [...a.host.agents.keys()];
    await a.fleet.close();
    for (const id of onA) assert.equal((await directory.get('acme', id))?.record.owner, undefined);
    await b.fleet.tick();
    for (let i = 0; i < 10; i++) {
      const reply = await withTenant('acme', () => b.fleet.send(`h${i}`, 'after'));
      assert.equal((reply.output as { node: string }).node, 'n1');
    }
  });

  it('after a node crashes, its agents answer from another node once its heartbeat runs out', async () => {
    const { nodes, directory } = await cluster(2, { leaseMs: 300 });
    await withTenant('acme', () => nodes[0]!.fleet.create({ definition: 'echo', id: 'f1' }));
    const owner = (await directory.get('acme', 'f1'))?.record.owner;
    const crashed = nodes.find((n) => n.fleet.nodeId === owner)!;
    const survivor = nodes.find((n) => n.fleet.nodeId !== owner)!;
    await crashed.fleet.abandon();
    // Until its heartbeat runs out the crashed node still counts as the owner; the call waits, then it moves.
    const reply = await withTenant('acme', () => survivor.fleet.send('f1', 'after'));
    assert.equal((reply.output as { node: string }).node, survivor.fleet.nodeId);
    assert.equal((await directory.get('acme', 'f1'))?.record.owner, survivor.fleet.nodeId);
    assert.equal(survivor.host.activations, 1);
  });

  it('refuses unknown agents and definitions no node has, with typed errors', async () => {
    const { nodes, directory } = await cluster(2);
    await rejectsWithCode(
      withTenant('acme', () => nodes[0]!.fleet.send('nobody', 1)),
      'AGENT_NOT_FOUND',
    );
    await directory.create({ v: 1, tenant: 'acme', id: 'odd', definition: 'gone', createdAt: Date.now() });
    await rejectsWithCode(
      withTenant('acme', () => nodes[0]!.fleet.send('odd', 1)),
      'DEFINITION_UNAVAILABLE',
    );
    assert.equal((await directory.get('acme', 'odd'))?.record.owner, undefined);
    await rejectsWithCode(
      withTenant('acme', () =>
        nodes[0]!.fleet
          .create({ definition: 'echo', id: 'dup' })
          .then(() => nodes[1]!.fleet.create({ definition: 'echo', id: 'dup' })),
      ),
      'AGENT_EXISTS',
    );
  });
});

// Single activation (issue 18): fleets race to activate the same 40 agents, with messages from
// every live node at once, while nodes join, one leaves (hands over) and one is killed (stops
// heartbeating and its memory is gone, as a SIGKILL leaves it). A shared ledger of which nodes
// hold each agent in memory is checked on every activation and every message: never two. Once
// in memory (in-memory directory and leases on one bus), once on loopback NATS (JetStream KV
// directory and leases, a NATS connection per node); buckets deleted afterwards.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { type Bus, createBus, MemoryHub, MemoryTransport } from '../../src/bus/index.ts';
import {
  type AgentCall,
  type AgentDirectory,
  type AgentRecord,
  type AgentStateSnapshot,
  ClusterFleet,
  type CreateFleetAgent,
  type FleetHost,
  type LeaseStore,
  MemoryAgentDirectory,
  MemoryLeaseStore,
} from '../../src/cluster/index.ts';
import { withTenant } from '../../src/context/index.ts';
import { AgentNotFoundError } from '../../src/core/index.ts';
import { NatsKvAgentDirectory, NatsKvLeaseStore, natsTransport } from '../../src/nats.ts';
import { seededRandom, sleep } from '../helpers.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const AGENTS = 40;
const natsSkip = await serverSkipReason('NATS', 4222);
const buckets: string[] = [];

after(async () => {
  if (natsSkip !== undefined || buckets.length === 0) return;
  const nc = await connect({ servers: NATS_URL });
  const kvm = new Kvm(nc);
  for (const bucket of buckets)
    await kvm
      .open(bucket)
      .then((kv) => kv.destroy())
      .catch(() => undefined);
  await nc.close();
});

/** Which nodes hold each agent in memory now, and every moment two did. */
class Ledger {
  readonly holders = new Map<string, Set<string>>();
  readonly violations: string[] = [];
  activations = 0;
  messages = 0;

  hold(id: string, node: string): void {
    const set = this.holders.get(id) ?? new Set();
    if (set.size > 0) this.violations.push(`${id} activated on ${node} while on ${[...set]}`);
    set.add(node);
    this.holders.set(id, set);
    this.activations++;
  }

  release(id: string, node: string): void {
    this.holders.get(id)?.delete(node);
  }

  served(id: string, node: string): void {
    const set = this.holders.get(id);
    if (set === undefined || set.size !== 1 || !set.has(node))
      this.violations.push(`${id} answered on ${node} while held by ${[...(set ?? [])]}`);
    this.messages++;
  }
}

/** A node's agents: entries in the ledger, gone at once when the node is killed. */
class LedgerHost implements FleetHost {
  readonly #node: string;
  readonly #ledger: Ledger;
  readonly #agents = new Map<string, AgentStateSnapshot | undefined>();
  constructor(node: string, ledger: Ledger) {
    this.#node = node;
    this.#ledger = ledger;
  }
  has(id: string) {
    return this.#agents.has(id);
  }
  prepare(agent: CreateFleetAgent) {
    return { id: agent.id ?? 'x', definition: agent.definition };
  }
  canActivate() {
    return true;
  }
  #dead = false;
  async activate(record: AgentRecord) {
    await sleep(1); // activation takes a moment: races overlap
    if (this.#dead) throw new Error('this process is dead');
    this.#ledger.hold(record.id, this.#node);
    this.#agents.set(record.id, record.state);
  }
  async deactivate(id: string) {
    const state = this.#agents.get(id);
    this.#agents.delete(id);
    this.#ledger.release(id, this.#node);
    return state;
  }
  snapshot(id: string) {
    return this.#agents.get(id);
  }
  busy() {
    return false;
  }
  async invoke(id: string, call: AgentCall) {
    if (this.#dead) throw new Error('this process is dead');
    if (!this.#agents.has(id)) throw new AgentNotFoundError(id);
    if (call.op === 'send') this.#ledger.served(id, this.#node);
    return { output: this.#node };
  }
  /** The process died: its memory is gone. */
  crash() {
    this.#dead = true;
    for (const id of this.#agents.keys()) this.#ledger.release(id, this.#node);
    this.#agents.clear();
  }
}

interface Stores {
  directory: () => Promise<AgentDirectory>;
  leases: () => Promise<LeaseStore>;
  bus: () => Promise<Bus>;
}

async function race(stores: Stores, leaseMs: number) {
  const name = `race${randomBytes(4).toString('hex')}`; // apart from any other cluster on this NATS
  const ledger = new Ledger();
  const random = seededRandom(18);
  const closing: Array<() => Promise<unknown>> = [];
  const nodes: Array<{ id: string; fleet: ClusterFleet; host: LedgerHost }> = [];
  const join = async (id: string) => {
    const host = new LedgerHost(id, ledger);
    const bus = await stores.bus();
    closing.push(() => bus.close());
    const [directory, leases] = [await stores.directory(), await stores.leases()];
    closing.push(
      () => directory.close(),
      () => leases.close(),
    );
    const fleet = await ClusterFleet.open({
      nodeId: id,
      name,
      bus,
      directory,
      leases,
      host,
      callTimeoutMs: 10_000,
    });
    nodes.push({ id, fleet, host });
  };
  for (const id of ['n0', 'n1', 'n2']) await join(id);
  const seed = nodes[0]!.fleet;
  for (let i = 0; i < AGENTS; i++)
    await withTenant('acme', () => seed.create({ definition: 'echo', id: `a${i}` }));
  const failures = new Map<string, number>();
  let sending = true;
  const sender = async () => {
    for (let n = 0; sending && n < 10_000; n++) {
      const via = nodes[Math.floor(random() * nodes.length)]!;
      const id = `a${Math.floor(random() * AGENTS)}`;
      await withTenant('acme', () => via.fleet.send(id, n)).catch((error: { code?: string }) => {
        failures.set(error.code ?? 'other', (failures.get(error.code ?? 'other') ?? 0) + 1);
      });
    }
  };
  // Besides the senders, after each change every live node asks for every agent at once.
  const burst = () =>
    Promise.all(
      nodes.flatMap((node) =>
        Array.from({ length: AGENTS }, (_, i) =>
          withTenant('acme', () => node.fleet.send(`a${i}`, 'burst')).catch((error: { code?: string }) => {
            failures.set(error.code ?? 'other', (failures.get(error.code ?? 'other') ?? 0) + 1);
          }),
        ),
      ),
    );
  const senders = [burst(), ...Array.from({ length: 6 }, sender)];
  const events: string[] = [];
  await sleep(leaseMs / 2);
  await join('n3');
  events.push('n3 joined');
  senders.push(burst());
  await sleep(leaseMs / 2);
  const leaving = nodes.find((n) => n.id === 'n1')!;
  nodes.splice(nodes.indexOf(leaving), 1);
  await leaving.fleet.close();
  events.push('n1 left');
  senders.push(burst());
  const killed = nodes.find((n) => n.id === 'n2')!;
  nodes.splice(nodes.indexOf(killed), 1);
  await killed.fleet.abandon();
  killed.host.crash();
  events.push('n2 killed');
  senders.push(burst());
  await join('n4');
  events.push('n4 joined');
  senders.push(burst());
  await sleep(leaseMs * 2.5); // past the dead node's heartbeat: its agents move
  sending = false;
  await Promise.all(senders);
  // Every agent answers again, from one live node.
  for (let i = 0; i < AGENTS; i++) {
    const reply = await withTenant('acme', () => nodes[i % nodes.length]!.fleet.send(`a${i}`, 'last'));
    assert.ok(['n0', 'n3', 'n4'].includes((reply as { output: string }).output));
  }
  for (const node of nodes) await node.fleet.close();
  for (const close of closing.reverse()) await close();
  return { ledger, failures, events };
}

function check({ ledger, failures, events }: Awaited<ReturnType<typeof race>>) {
  assert.deepEqual(ledger.violations, [], `two active copies (${events.join(', ')})`);
  assert.ok(ledger.messages > AGENTS, `messages were answered throughout (${ledger.messages})`);
  for (const code of failures.keys())
    assert.equal(code, 'AGENT_OWNER_LOST', 'the only failure: an owner lost mid-call');
  for (const [id, holders] of ledger.holders)
    assert.ok(holders.size === 0, `${id} still held by ${[...holders]}`);
}

describe('one active copy while nodes join, leave and are killed', () => {
  it('in memory', async () => {
    const hub = new MemoryHub();
    const directory = new MemoryAgentDirectory();
    const leases = new MemoryLeaseStore({ leaseMs: 600 });
    // One store for every node (closed at the end, after every fleet).
    const shared =
      <T>(store: T) =>
      async () =>
        store;
    check(
      await race(
        {
          directory: shared(directory),
          leases: shared(leases),
          bus: async () => createBus({ transport: new MemoryTransport(hub) }),
        },
        600,
      ),
    );
  });

  it('on NATS JetStream KV', { skip: natsSkip }, async () => {
    const suffix = randomBytes(4).toString('hex');
    const [agents, leases] = [`af-race-agents-${suffix}`, `af-race-leases-${suffix}`];
    buckets.push(agents, leases);
    check(
      await race(
        {
          directory: () => NatsKvAgentDirectory.open({ servers: NATS_URL, bucket: agents }),
          leases: () => NatsKvLeaseStore.open({ servers: NATS_URL, bucket: leases, leaseMs: 1_000 }),
          bus: async () => createBus({ transport: await natsTransport({ servers: NATS_URL }) }),
        },
        1_000,
      ),
    );
  });
});

// Losing a NATS server (issue 18): a three-server cluster of the test's own; two Agentfleet
// nodes joined in one cluster (`cluster` lists all three servers; its leases, agent directory
// and runs in R3 buckets); the server node A is connected to is SIGKILLed. The nodes reconnect,
// a durable agent keeps answering B's requests through A's front door (each a run, wherever the
// agent is active), and a lease in an R3 bucket taken before the kill is renewed after it,
// while a second store still cannot take it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsTransport } from '../../src/bus/transports/nats.ts';
import type { Lease } from '../../src/cluster/index.ts';
import { NatsKvLeaseStore } from '../../src/cluster/nats-kv-lease-store.ts';
import { withTenant } from '../../src/context/index.ts';
import { defineAgent } from '../../src/core/index.ts';
import { inboxTopic } from '../../src/front-door/index.ts';
import { llm } from '../../src/llm-agent/index.ts';
import { type AgentfleetNode, createNode } from '../../src/node/index.ts';
import { sleep } from '../helpers.ts';
import { scriptedProvider } from '../scripted-provider.ts';
import { type NatsCluster, natsServerSkipReason, startNatsCluster } from './nats-cluster.ts';

const skip = natsServerSkipReason();

/** Milliseconds the nodes get to answer again after the kill. */
const RECOVERY_MS = 15_000;
/** Requests that must all succeed once the first one has. */
const AFTER = 20;

function connectionOf(node: AgentfleetNode): NatsConnection {
  return (node.bus.transport as NatsTransport).connection;
}

/** `attempt` until it resolves, up to `withinMs`; its value and the failures seen (by code). */
async function retry<T>(withinMs: number, attempt: () => Promise<T>) {
  const started = performance.now();
  const failures = new Map<string, number>();
  for (;;) {
    try {
      return { value: await attempt(), failures };
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message;
      failures.set(code, (failures.get(code) ?? 0) + 1);
      if (performance.now() - started > withinMs)
        throw new Error(`still failing after ${withinMs} ms: ${JSON.stringify([...failures])}`, {
          cause: error,
        });
      await sleep(100);
    }
  }
}

describe('a NATS cluster losing a server', { skip, timeout: 60_000 }, () => {
  let cluster: NatsCluster;

  before(async () => {
    cluster = await startNatsCluster();
  });

  after(async () => {
    await cluster?.close();
  });

  it('nodes reconnect, the front door keeps answering, and an R3 lease survives', async (t) => {
    const chat = defineAgent({
      name: 'chat',
      durable: true,
      decide: llm({ provider: scriptedProvider(() => ({ text: 'pong' })), model: 'm' }),
    });
    // One Agentfleet cluster over the NATS cluster: its leases, directory and runs in R3 buckets.
    const config = {
      logLevel: 'silent',
      auth: 'none',
      cluster: cluster.urls,
      clusterName: `nc${randomUUID().slice(0, 8)}`,
      clusterReplicas: 3,
    } as const;
    await using a = await createNode({ ...config, nodeId: 'node-a' }, { definitions: [chat] });
    await using b = await createNode(
      { ...config, nodeId: 'node-b', busFrontDoor: false },
      { definitions: [chat] },
    );
    const tenant = `t${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await withTenant(tenant, () => a.agents.create({ definition: 'chat', id: 'c1' }));
    const ask = async (timeout: number) => {
      const reply = await b.bus.request<{ output: { text: string }; runId: string }>(
        inboxTopic(tenant, 'c1'),
        { input: 'ping' },
        { timeout },
      );
      assert.equal(reply.payload.output.text, 'pong');
      assert.match(reply.payload.runId, /^run_/);
    };
    for (let i = 0; i < 3; i++) await ask(5_000);

    const doomedAddress = connectionOf(a).getServer();
    const doomed = cluster.servers.find((s) => s.address === doomedAddress);
    assert.ok(doomed, `node A is on one of the cluster's servers (${doomedAddress})`);
    const others = cluster.servers.filter((s) => s !== doomed).map((s) => s.url);

    // A lease store on the doomed server (its connection must move too), another on the rest.
    const leaseConnection = await connect({ servers: [doomed.url, ...others], noRandomize: true });
    t.after(() => leaseConnection.close());
    const leasesA = await NatsKvLeaseStore.open({
      connection: leaseConnection,
      bucket: 'af-cluster-leases',
      leaseMs: 10_000,
      replicas: 3,
    });
    t.after(() => leasesA.close());
    const leasesB = await NatsKvLeaseStore.open({ servers: others, bucket: 'af-cluster-leases' });
    t.after(() => leasesB.close());
    const jsm = await jetstreamManager(leaseConnection);
    const leaseStream = await jsm.streams.info('KV_af-cluster-leases');
    assert.equal(leaseStream.config.num_replicas, 3);
    const leaseLeader = leaseStream.cluster?.leader;
    const lease = await leasesA.acquire(`agent.${tenant}.c1`, 'node-a');
    assert.ok(lease, 'node A takes the lease');
    assert.equal(await leasesB.acquire(`agent.${tenant}.c1`, 'node-b'), undefined);

    await doomed.kill();
    const killedAt = performance.now();
    assert.equal(doomed.alive(), false);

    // The lease (renewed before it runs out) and the front door, side by side.
    const sinceKill = async <T>(work: Promise<{ value: T; failures: Map<string, number> }>) => {
      const done = await work;
      return { ...done, ms: Math.round(performance.now() - killedAt) };
    };
    const [renewal, recovery] = await Promise.all([
      sinceKill(retry(lease.validUntil - performance.now() - 500, () => leasesA.renew(lease))),
      sinceKill(retry(RECOVERY_MS, () => ask(2_000))),
    ]);
    const renewed: Lease = renewal.value;
    assert.ok(renewed.revision > lease.revision);
    assert.equal(await leasesB.acquire(`agent.${tenant}.c1`, 'node-b'), undefined, 'B still cannot take it');
    assert.equal((await leasesB.holder(`agent.${tenant}.c1`))?.owner, 'node-a');
    assert.ok(await leasesA.release(renewed));

    for (let i = 0; i < AFTER; i++) await ask(5_000);
    assert.notEqual(connectionOf(a).getServer(), doomedAddress, 'node A moved to a live server');
    assert.notEqual(leaseConnection.getServer(), doomed.address, 'the lease connection moved too');

    const failed = (m: Map<string, number>) => JSON.stringify(Object.fromEntries(m));
    t.diagnostic(
      `killed ${doomed.name} (node A's server; lease stream leader ${leaseLeader}): ` +
        `first answered request ${recovery.ms} ms after the kill (failures ${failed(recovery.failures)}), ` +
        `lease renewed after ${renewal.ms} ms (failures ${failed(renewal.failures)}), ` +
        `then ${AFTER} of ${AFTER} answered`,
    );
  });
});

// State deltas and snapshot requests over real transports: a store on one connection, a
// replica and a tenant's subscriber on another, through NATS and through MQTT.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { type Bus, createBus, type Envelope, type Transport } from '../../src/bus/index.ts';
import { mqttTransport } from '../../src/bus/transports/mqtt.ts';
import { natsTransport } from '../../src/bus/transports/nats.ts';
import { withTenant } from '../../src/context/index.ts';
import { createStateReplica, createStateStore, type StateDelta } from '../../src/state/index.ts';
import { eventually } from '../helpers.ts';
import { MQTT_URL, NATS_URL, serverSkipReason } from './servers.ts';

const transports: Array<[string, string | undefined, () => Promise<Transport>]> = [
  ['NATS', await serverSkipReason('NATS', 4222), () => natsTransport({ servers: NATS_URL })],
  ['MQTT', await serverSkipReason('MQTT', 1883), () => mqttTransport({ url: MQTT_URL })],
];

for (const [name, skip, connect] of transports) {
  describe(`state sync over ${name}`, { skip }, () => {
    it('a replica on another connection rebuilds every tenant’s view; a tenant’s subscriber sees only its own deltas', async () => {
      const buses: Bus[] = [
        createBus({ transport: await connect() }),
        createBus({ transport: await connect() }),
      ];
      const [storeBus, replicaBus] = buses as [Bus, Bus];
      const run = randomBytes(3).toString('hex'); // agent ids unique to this run: the servers are shared
      const agents = [`a${run}x`, `b${run}x`];
      const store = await createStateStore({ bus: storeBus });
      const replica = await createStateReplica({ bus: replicaBus });
      const globexSaw: Envelope<StateDelta>[] = [];
      await withTenant('globex', () =>
        replicaBus.subscribe<StateDelta>('agent.*.state_delta', (m) => {
          globexSaw.push(m);
        }),
      );
      await new Promise((r) => setTimeout(r, 100)); // MQTT subscriptions settle on the broker
      for (const tenant of ['acme', 'globex']) {
        withTenant(tenant, () => {
          for (const agent of agents) {
            store.setTags(agent, ['navigation']);
            store.set(agent, { position: [1, 2], heading: 90, note: `${tenant} only` });
            store.set(agent, { position: [3, 4], speed: 2 });
          }
        });
      }
      await storeBus.flush();
      for (const tenant of ['acme', 'globex']) {
        await withTenant(tenant, async () => {
          for (const agent of agents) {
            await eventually(() => replica.get(agent)?.version === store.view(agent)?.version, 10_000);
            assert.deepEqual(replica.get(agent), store.view(agent));
          }
        });
      }
      await eventually(() => globexSaw.length === agents.length * 3, 10_000);
      assert.ok(globexSaw.every((m) => m.tenant === 'globex'));
      assert.ok(!JSON.stringify(globexSaw.map((m) => m.payload)).includes('acme'));
      // A late replica catches up with a snapshot request over the same transport.
      const late = await createStateReplica({ bus: replicaBus, agentId: agents[0] });
      await withTenant('acme', async () => {
        store.set(agents[0]!, { heading: 180 });
        await eventually(() => late.get(agents[0]!)?.version === store.view(agents[0]!)?.version, 10_000);
        assert.deepEqual(late.get(agents[0]!), store.view(agents[0]!));
      });
      await late.close();
      // A replica started after the writes holds the views at once (paged snapshots), no delta needed.
      const loaded = await withTenant('acme', () => createStateReplica({ bus: replicaBus }));
      withTenant('acme', () => {
        for (const agent of agents) assert.deepEqual(loaded.get(agent), store.view(agent), agent);
      });
      withTenant('globex', () => assert.equal(loaded.get(agents[1]!), undefined, 'its tenant only'));
      assert.equal(loaded.stats().loaded, agents.length);
      await loaded.close();
      await replica.close();
      await store.close();
      await Promise.all(buses.map((b) => b.close()));
    });
  });
}

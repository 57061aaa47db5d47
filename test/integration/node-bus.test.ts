// A node whose bus is NATS (or MQTT): two nodes reach each other through the broker, and
// closing a node closes its connection.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { withTenant } from '../../src/context/index.ts';
import { defineAgent } from '../../src/core/index.ts';
import { inboxTopic } from '../../src/front-door/index.ts';
import { createNode } from '../../src/node/index.ts';
import { liveResources, noMoreResourcesThan } from '../helpers.ts';
import { MQTT_URL, NATS_URL, serverSkipReason } from './servers.ts';

const natsSkip = await serverSkipReason('NATS', 4222);
const mqttSkip = await serverSkipReason('Mosquitto', 1883);

describe('a node on NATS', { skip: natsSkip }, () => {
  it('two nodes share the bus: request/reply and state deltas cross; close leaves nothing', async () => {
    const baseline = liveResources();
    const url = `nats://${NATS_URL.replace(/^nats:\/\//, '')}`;
    const a = await createNode({ logLevel: 'silent', bus: url });
    const b = await createNode({ logLevel: 'silent', bus: url });
    assert.equal(a.bus.transport.name, 'nats');
    const topic = `test.node.${randomUUID()}`;
    const sub = await a.bus.subscribe<{ n: number }>(topic, (message) => {
      a.bus.reply(message, { doubled: message.payload.n * 2 });
    });
    const reply = await b.bus.request<{ doubled: number }>(topic, { n: 21 }, { timeout: 5_000 });
    assert.equal(reply.payload.doubled, 42);
    await sub.close();
    await a.close();
    await b.close();
    await noMoreResourcesThan(baseline);
  });

  it("reaches an agent of one node from another through the node's front door", async () => {
    const url = `nats://${NATS_URL.replace(/^nats:\/\//, '')}`;
    const echo = defineAgent({ name: 'echo', decide: (x: unknown) => ({ echoed: x }) });
    await using a = await createNode({ logLevel: 'silent', bus: url }, { definitions: [echo] });
    await using b = await createNode({ logLevel: 'silent', bus: url, busFrontDoor: false });
    assert.ok(a.frontDoor);
    assert.equal(b.frontDoor, undefined);
    const tenant = `t${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await withTenant(tenant, () => a.runtime.spawn('echo', { id: 'e' }));
    const reply = await b.bus.request<{ output: unknown }>(
      inboxTopic(tenant, 'e'),
      { input: 'hi' },
      { timeout: 5_000 },
    );
    assert.deepEqual(reply.payload.output, { echoed: 'hi' });
  });
});

describe('a node on MQTT', { skip: mqttSkip }, () => {
  it('publishes to another node through the broker', async () => {
    const baseline = liveResources();
    const a = await createNode({ logLevel: 'silent', bus: MQTT_URL });
    const b = await createNode({ logLevel: 'silent', bus: MQTT_URL });
    assert.equal(a.bus.transport.name, 'mqtt');
    const topic = `test.node.${randomUUID().replaceAll('-', '')}`;
    const got = Promise.withResolvers<unknown>();
    const sub = await b.bus.subscribe(topic, (message) => got.resolve(message.payload));
    await a.bus.publish(topic, { hello: 'edge' });
    assert.deepEqual(await got.promise, { hello: 'edge' });
    await sub.close();
    await a.close();
    await b.close();
    await noMoreResourcesThan(baseline);
  });
});

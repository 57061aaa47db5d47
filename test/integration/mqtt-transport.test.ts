// The MQTT transport's own behaviour beyond the contract suite: wildcard edges, interop with
// plain MQTT clients (edge devices), shared routes on one connection, options and lifecycle.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { type Bus, createBus, type Envelope } from '../../src/bus/index.ts';
import { mqttTransport } from '../../src/bus/transports/mqtt.ts';
import { eventually, liveResources, rejectsWithCode, sleep } from '../helpers.ts';
import { MQTT_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('Mosquitto', 1883);

describe('MQTT transport', { skip }, () => {
  const prefix = `m${randomBytes(4).toString('hex')}`;
  let n = 0;
  const topic = (suffix: string) => `${prefix}.${++n}.${suffix}`;
  const buses: Bus[] = [];
  async function bus(): Promise<Bus> {
    const b = createBus({ transport: await mqttTransport({ url: MQTT_URL }) });
    buses.push(b);
    return b;
  }
  after(() => Promise.all(buses.map((b) => b.close({ drain: false }))));

  it('a.> does not match a itself, although MQTT a/# would', async () => {
    const b = await bus();
    const base = topic('edge');
    const got: string[] = [];
    await b.subscribe(`${base}.>`, (m) => void got.push(m.topic));
    await b.publish(base, 1);
    await b.publish(`${base}.x`, 2);
    await b.publish(`${base}.x.y`, 3);
    // Order holds on one connection: once the last one is in, `base` would have arrived first.
    await eventually(() => got.includes(`${base}.x.y`));
    assert.deepEqual(got, [`${base}.x`, `${base}.x.y`]);
  });

  it('interoperates with plain MQTT clients: JSON from a device in, frames out', async () => {
    const b = await bus();
    const base = topic('device');
    const device = await mqtt.connectAsync(MQTT_URL, { protocolVersion: 5 });
    try {
      const got: Envelope[] = [];
      await b.subscribe(`${base}.sensor.*`, (m) => void got.push(m));
      // The level with a dot goes first; once the next one is in, it would have arrived before it.
      await device.publishAsync(`${base.replaceAll('.', '/')}/sensor/a.b`, '{"temp":0}', { qos: 1 });
      await device.publishAsync(`${base.replaceAll('.', '/')}/sensor/7`, '{"temp":21.5}', { qos: 1 });
      await eventually(() => got.length >= 1);
      assert.equal(got.length, 1, 'the level with a dot is not one bus token, so it is not delivered');
      assert.equal(got[0]?.topic, `${base}.sensor.7`);
      assert.deepEqual(got[0]?.payload, { temp: 21.5 });

      const seen: Array<{ topic: string; text: string }> = [];
      device.on('message', (t, payload) => seen.push({ topic: t, text: payload.toString() }));
      await device.subscribeAsync(`${base.replaceAll('.', '/')}/out/#`, { qos: 1 });
      await b.publish(`${base}.out.cmd`, { on: true }, { tenant: 'acme' });
      await eventually(() => seen.length === 1);
      assert.equal(seen[0]?.topic, `${base.replaceAll('.', '/')}/out/cmd`);
      assert.match(seen[0]?.text ?? '', /^AF1 json \S+ \d+ acme {3}\n\{"on":true\}$/);
    } finally {
      await device.endAsync();
    }
  });

  it('subscriptions sharing a filter or overlapping on one connection each get a message once', async () => {
    const b = await bus();
    const base = topic('shared');
    const first: number[] = [];
    const second: number[] = [];
    const wide: number[] = [];
    const s1 = await b.subscribe<number>(`${base}.*`, (m) => void first.push(m.payload));
    await b.subscribe<number>(`${base}.*`, (m) => void second.push(m.payload));
    await b.subscribe<number>(`${base}.>`, (m) => void wide.push(m.payload));
    await b.publish(`${base}.x`, 1);
    await eventually(() => first.length === 1 && second.length === 1 && wide.length === 1);
    await s1.close();
    await b.publish(`${base}.x`, 2);
    await b.publish(`${base}.y`, 3); // a sentinel: in order after 2 on this connection
    await eventually(() => second.includes(3) && wide.includes(3));
    assert.deepEqual([first, second, wide], [[1], [1, 2, 3], [1, 2, 3]]);
  });

  it('rejects bad options, durable subscriptions and whenFull block with INVALID_OPTIONS', async () => {
    await rejectsWithCode(mqttTransport({ url: 'http://x' }), 'INVALID_OPTIONS');
    await rejectsWithCode(mqttTransport({ qos: 2 as 1 }), 'INVALID_OPTIONS');
    await rejectsWithCode(mqttTransport({ clientId: 'has space' }), 'INVALID_OPTIONS');
    const b = await bus();
    await rejectsWithCode(
      b.subscribe(topic('d'), () => {}, { durable: 'x' }),
      'INVALID_OPTIONS',
    );
    await rejectsWithCode(
      b.subscribe(topic('d'), () => {}, { whenFull: 'block' }),
      'INVALID_OPTIONS',
    );
  });

  it('fails to connect with TRANSPORT_FAILED, and honours an aborted signal', async () => {
    await rejectsWithCode(
      mqttTransport({ url: 'mqtt://127.0.0.1:1', connectTimeoutMs: 2_000 }),
      'TRANSPORT_FAILED',
    );
    await rejectsWithCode(mqttTransport({ url: MQTT_URL, signal: AbortSignal.abort() }), 'ABORTED');
    const controller = new AbortController();
    const pending = mqttTransport({ url: MQTT_URL, signal: controller.signal });
    controller.abort();
    await rejectsWithCode(pending, 'ABORTED');
  });

  it('close is idempotent, refuses work afterwards and leaves no live resources', async () => {
    await sleep(50);
    const baseline = liveResources();
    const t = await mqttTransport({ url: MQTT_URL });
    const b = createBus({ transport: t });
    const got: number[] = [];
    await b.subscribe<number>(topic('res'), (m) => void got.push(m.payload));
    await b.publish(topic('res'), 1);
    await b.flush();
    await Promise.all([b.close(), b.close(), t.close()]);
    await rejectsWithCode(
      Promise.resolve().then(() => t.publish({ envelope: {} as Envelope, data: new Uint8Array() })),
      'BUS_CLOSED',
    );
    await rejectsWithCode(t.flush(), 'BUS_CLOSED');
    assert.deepEqual(liveResources(), baseline);
  });
});

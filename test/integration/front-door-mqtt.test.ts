// A plain MQTT 5 client (the `mqtt` package, no Agentfleet code) messages an agent through the
// bus front door with the MQTT 5 request/response pattern: it names a response topic and
// correlation data, gets plain JSON back with the same correlation data, and the agent's span
// continues the traceparent it sent as a user property.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { mqttTransport } from '../../src/bus/transports/mqtt.ts';
import { eventually, sleep } from '../helpers.ts';
import { type EchoFrontDoor, startEchoFrontDoor } from './echo-front-door.ts';
import { MQTT_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('Mosquitto', 1883);

interface Received {
  readonly topic: string;
  readonly text: string;
  readonly packet: IPublishPacket;
}

describe('a plain MQTT 5 client through the bus front door', { skip }, () => {
  let echo: EchoFrontDoor;
  let device: MqttClient;
  const tenant = `t${randomBytes(4).toString('hex')}`;
  const replies = `agent/${tenant}/replies/dev1`;
  const received: Received[] = [];

  before(async () => {
    echo = await startEchoFrontDoor(await mqttTransport({ url: MQTT_URL }), tenant);
    device = await mqtt.connectAsync(MQTT_URL, { protocolVersion: 5 });
    device.on('message', (topic, payload, packet) =>
      received.push({ topic, text: payload.toString(), packet }),
    );
    await device.subscribeAsync(`agent/${tenant}/#`, { qos: 1 });
  });

  after(async () => {
    await device?.endAsync();
    await echo?.close();
  });

  /** Sends `body` to `agent/<tenant>/<id>/inbox` as a request and waits for its reply. */
  async function request(
    id: string,
    body: unknown,
    properties: IPublishPacket['properties'],
  ): Promise<Received> {
    const correlation = properties?.correlationData;
    await device.publishAsync(`agent/${tenant}/${id}/inbox`, JSON.stringify(body), { qos: 1, properties });
    let reply: Received | undefined;
    await eventually(() => {
      reply = received.find(
        (r) =>
          r.topic === properties?.responseTopic &&
          correlation?.equals(r.packet.properties?.correlationData ?? Buffer.alloc(0)),
      );
      return reply !== undefined;
    });
    return reply as Received;
  }

  it('replies on the response topic in plain JSON, correlation data echoed; the span continues its trace', async () => {
    const traceId = 'b1b2c3d4e5f60718293a4b5c6d7e8f90';
    const correlationData = randomBytes(8);
    const reply = await request(
      'bot',
      { input: 'hi' },
      {
        responseTopic: replies,
        correlationData,
        userProperties: { traceparent: `00-${traceId}-1122334455667788-01` },
      },
    );
    assert.ok(!reply.text.startsWith('AF1 '), `plain JSON, not a frame: ${reply.text.slice(0, 60)}`);
    assert.deepEqual(JSON.parse(reply.text), { output: { echoed: 'hi' } });
    assert.deepEqual(reply.packet.properties?.correlationData, correlationData);
    assert.equal(reply.packet.properties?.userProperties?.['agentfleet-error'], undefined);
    let decision: ReturnType<InMemorySpanExporter['getFinishedSpans']>[number] | undefined;
    await eventually(() => {
      decision = echo.exporter
        .getFinishedSpans()
        .find((s) => s.name === 'agent.decision' && s.spanContext().traceId === traceId);
      return decision !== undefined;
    });
    assert.ok(decision, 'the agent span is in the caller trace');
  });

  it('an error is plain JSON { error: { code, message } }, the code also a user property', async () => {
    const correlationData = randomBytes(8);
    const reply = await request('nobody', { input: 1 }, { responseTopic: replies, correlationData });
    const body = JSON.parse(reply.text) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'AGENT_NOT_FOUND');
    assert.match(body.error.message, /nobody/);
    assert.equal(reply.packet.properties?.userProperties?.['agentfleet-error'], 'AGENT_NOT_FOUND');
    assert.deepEqual(reply.packet.properties?.correlationData, correlationData);
  });

  it("a user property never names the tenant, and a response topic in another tenant's subjects is refused", async () => {
    const correlationData = randomBytes(8);
    // The subject decides the tenant: claiming another one in a property changes nothing.
    const reply = await request(
      'bot',
      { input: 'mine' },
      {
        responseTopic: replies,
        correlationData,
        userProperties: { tenant: 'other', 'agentfleet-tenant': 'other' },
      },
    );
    assert.deepEqual(JSON.parse(reply.text), { output: { echoed: 'mine' } });

    const elsewhere = `agent/x${tenant}/replies/dev1`;
    await device.subscribeAsync(elsewhere, { qos: 1 });
    await device.publishAsync(`agent/${tenant}/bot/inbox`, JSON.stringify({ input: 'leak' }), {
      qos: 1,
      properties: { responseTopic: elsewhere, correlationData: randomBytes(8) },
    });
    // A sentinel request after it: once its reply is in, the refused one would have been answered.
    await request('bot', { input: 'after' }, { responseTopic: replies, correlationData: randomBytes(8) });
    await sleep(50);
    assert.equal(received.filter((r) => r.topic === elsewhere).length, 0);
  });
});

// The trust model of the bus front door, shown on a private mosquitto: the broker
// authenticates each tenant's client and its ACL confines the client to agent/<tenant>/#, so
// the tenant token of an inbox subject can be trusted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Bus, createBus, type Envelope } from '../../src/bus/index.ts';
import { mqttTransport } from '../../src/bus/transports/mqtt.ts';
import { LocalFleet } from '../../src/cluster/index.ts';
import { withTenant } from '../../src/context/index.ts';
import { createRuntime, defineAgent, type Runtime } from '../../src/core/index.ts';
import { BusFrontDoor, type StreamPart } from '../../src/front-door/index.ts';
import { mosquittoBinarySkipReason, type OwnMosquitto, startOwnMosquitto } from './own-mosquitto.ts';

const skip = mosquittoBinarySkipReason();

const USERS = { node: 'node-secret', a: 'a-secret', b: 'b-secret' };
const ACL = `
user node
topic readwrite #

user a
topic readwrite agent/a/#

user b
topic readwrite agent/b/#
`;

const handled: string[] = [];
const echo = defineAgent({
  name: 'echo',
  decide: async (input: { say?: string } | undefined, ctx) => {
    handled.push(`${ctx.agentId}:${input?.say}`);
    return { said: input?.say };
  },
});

async function client(url: string, user: keyof typeof USERS): Promise<Bus> {
  return createBus({ transport: await mqttTransport({ url, username: user, password: USERS[user] }) });
}

function collect(bus: Bus, topic: string): Promise<{ parts: StreamPart[]; close(): Promise<void> }> {
  const parts: StreamPart[] = [];
  return bus
    .subscribe(topic, (m: Envelope<StreamPart>) => {
      parts.push(m.payload);
    })
    .then((sub) => ({ parts, close: () => sub.close() }));
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('bus front door behind a broker ACL (private mosquitto)', { skip }, () => {
  let broker: OwnMosquitto;
  let runtime: Runtime;
  let nodeBus: Bus;
  let door: BusFrontDoor;

  before(async () => {
    broker = await startOwnMosquitto(USERS, ACL);
    runtime = createRuntime();
    await withTenant('a', () => runtime.spawn(echo, { id: 'bot' }));
    await withTenant('b', () => runtime.spawn(echo, { id: 'bot' }));
    nodeBus = await client(broker.url, 'node');
    door = await BusFrontDoor.open(new LocalFleet(runtime), nodeBus);
  });

  after(async () => {
    await door?.close();
    await nodeBus?.close();
    await runtime?.close();
    await broker?.close();
  });

  it('refuses a client without valid credentials', async () => {
    await assert.rejects(
      mqttTransport({ url: broker.url, username: 'a', password: 'wrong', connectTimeoutMs: 2000 }),
      {
        code: 'TRANSPORT_FAILED',
      },
    );
  });

  it("tenant a's request works end to end, its parts on a subject of its own", async () => {
    const a = await client(broker.url, 'a');
    const replies = await collect(a, 'agent.a.replies.r1');
    await a.publish('agent.a.bot.inbox', { input: { say: 'hello' }, stream: 'agent.a.replies.r1' });
    await until(() => replies.parts.length > 0);
    assert.deepEqual(replies.parts, [{ type: 'result', output: { said: 'hello' } }]);
    await replies.close();
    await a.close();
  });

  it("tenant a cannot publish to tenant b's inbox nor read b's replies", async () => {
    const a = await client(broker.url, 'a');
    const b = await client(broker.url, 'b');
    const before = handled.length;
    try {
      // mosquitto drops a publish its ACL denies (MQTT v5 may answer "not authorized"): either
      // way, nothing reaches b's agent.
      await a.publish('agent.b.bot.inbox', { input: { say: 'intruder' } }).catch(() => {});
      await a.transport.flush();
      // mosquitto grants a's subscription to b's subjects but its ACL delivers nothing on it.
      const spy = await collect(a, 'agent.b.replies.>');
      const replies = await collect(b, 'agent.b.replies.r2');
      await b.publish('agent.b.bot.inbox', { input: { say: 'mine' }, stream: 'agent.b.replies.r2' });
      await until(() => replies.parts.length > 0);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(replies.parts, [{ type: 'result', output: { said: 'mine' } }]);
      assert.deepEqual(handled.slice(before), ['bot:mine'], "only b reached b's agent");
      assert.deepEqual(spy.parts, [], "a read none of b's replies");
      await spy.close();
      await replies.close();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { createBus, type Envelope } from '../bus/index.ts';
import { LocalFleet } from '../cluster/index.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { BusFrontDoor, inboxTopic, parseInboxTopic, type StreamPart } from './index.ts';

const echo = defineAgent({
  name: 'echo',
  decide: async (input: { say?: string; fail?: boolean; wait?: number } | undefined, ctx) => {
    if (input?.wait !== undefined) await new Promise((r) => setTimeout(r, input.wait));
    if (input?.fail === true) throw new Error('secret internals');
    ctx.emit({ type: 'progress', name: 'delta', data: { text: input?.say ?? '' } });
    return { said: input?.say };
  },
});

/** The code the responder reported in a `REQUEST_FAILED`. */
function remoteCode(error: { details?: Record<string, unknown> }): unknown {
  return (error.details?.remote as { code?: unknown } | undefined)?.code;
}

async function setup(options?: Parameters<typeof BusFrontDoor.open>[2]) {
  const runtime = createRuntime();
  await withTenant('acme', () => runtime.spawn(echo, { id: 'bot' }));
  await withTenant('globex', () => runtime.spawn(echo, { id: 'other' }));
  await runtime.spawn(echo, { id: 'sys' });
  const bus = createBus({ requestTimeoutMs: 2000 });
  const door = await BusFrontDoor.open(new LocalFleet(runtime), bus, options);
  const close = async () => {
    await door.close();
    await bus.close();
    await runtime.close();
  };
  return { runtime, bus, door, close };
}

describe('BusFrontDoor', () => {
  it('answers a request on agent.<tenant>.<id>.inbox with { output }, in that tenant', async () => {
    const { bus, close } = await setup();
    const reply = await bus.request(inboxTopic('acme', 'bot'), { input: { say: 'hi' } });
    assert.deepEqual(reply.payload, { output: { said: 'hi' } });
    await close();
  });

  it("the subject decides the tenant: another tenant's agent is AGENT_NOT_FOUND, a contrary envelope TENANT_MISMATCH", async () => {
    const { bus, close } = await setup();
    const notFound = await rejectsWithCode(
      bus.request('agent.acme.other.inbox', { input: {} }),
      'REQUEST_FAILED',
    );
    assert.equal(remoteCode(notFound), 'AGENT_NOT_FOUND');
    const mismatch = await rejectsWithCode(
      bus.request('agent.acme.bot.inbox', { input: {} }, { tenant: 'globex' }),
      'REQUEST_FAILED',
    );
    assert.equal(remoteCode(mismatch), 'TENANT_MISMATCH');
    await close();
  });

  it('the system scope is not offered on the bus', async () => {
    const { bus, close } = await setup();
    const error = await rejectsWithCode(bus.request('agent._.sys.inbox', { input: {} }), 'REQUEST_FAILED');
    assert.equal(remoteCode(error), 'AGENT_NOT_FOUND');
    assert.throws(() => inboxTopic('_', 'sys'), { code: 'INVALID_TOPIC' });
    assert.throws(() => inboxTopic('acme', 'a.b'), { code: 'INVALID_TOPIC' });
    await close();
  });

  it('bad payloads, oversized payloads and failed steps get typed codes', async () => {
    const { bus, close } = await setup({ maxPayloadBytes: 100 });
    const codeOf = async (p: Promise<unknown>) => remoteCode(await rejectsWithCode(p, 'REQUEST_FAILED'));
    assert.equal(await codeOf(bus.request('agent.acme.bot.inbox', { nope: 1 })), 'INVALID_REQUEST');
    assert.equal(
      await codeOf(bus.request('agent.acme.bot.inbox', { input: 'x'.repeat(200) })),
      'MESSAGE_TOO_LARGE',
    );
    const internal = await rejectsWithCode(
      bus.request('agent.acme.bot.inbox', { input: { fail: true } }),
      'REQUEST_FAILED',
    );
    assert.equal(remoteCode(internal), 'AGENT_STEP_FAILED', 'as over HTTP');
    assert.equal(
      await codeOf(bus.request('agent.acme.bot.inbox', { input: {}, stream: 'agent.globex.x' })),
      'INVALID_REQUEST',
    );
    await close();
  });

  it('streams the agent events then the result to the named subject', async () => {
    const { bus, close } = await setup();
    const parts: StreamPart[] = [];
    const sub = await withTenant('acme', () =>
      bus.subscribe('agent.acme.streams.s1', (m: Envelope<StreamPart>) => {
        parts.push(m.payload);
      }),
    );
    const reply = await bus.request('agent.acme.bot.inbox', {
      input: { say: 'yo' },
      stream: 'agent.acme.streams.s1',
    });
    assert.deepEqual(reply.payload, { output: { said: 'yo' } });
    await bus.transport.flush();
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(parts, [
      { type: 'event', event: { type: 'progress', name: 'delta', data: { text: 'yo' } } },
      { type: 'result', output: { said: 'yo' } },
    ]);
    await sub.close();
    await close();
  });

  it('refuses requests over the per-tenant bound with INGRESS_OVERLOADED', async () => {
    const { bus, door, close } = await setup({ maxInFlightPerTenant: 2 });
    const slow = [1, 2].map(() => bus.request('agent.acme.bot.inbox', { input: { wait: 100 } }));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(door.inFlight, 2);
    const over = await rejectsWithCode(bus.request('agent.acme.bot.inbox', { input: {} }), 'REQUEST_FAILED');
    assert.equal(remoteCode(over), 'INGRESS_OVERLOADED');
    const other = await bus.request('agent.globex.other.inbox', { input: { say: 'ok' } });
    assert.deepEqual(other.payload, { output: { said: 'ok' } });
    await Promise.all(slow);
    assert.equal(door.inFlight, 0);
    await close();
  });

  it('parses inbox topics', () => {
    assert.deepEqual(parseInboxTopic('agent.acme.bot.inbox'), { tenant: 'acme', id: 'bot' });
    assert.equal(parseInboxTopic('agent.acme.bot.outbox'), undefined);
    assert.equal(parseInboxTopic('agents.acme.bot.inbox'), undefined);
  });
});

// A plain NATS client (no Agentfleet code) messages an agent through the bus front door, reads
// the plain JSON reply, and the agent's span continues the traceparent it sent as a NATS header.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createBus } from '../../src/bus/index.ts';
import { natsTransport } from '../../src/bus/transports/nats.ts';
import { withTenant } from '../../src/context/index.ts';
import { type EchoFrontDoor, startEchoFrontDoor } from './echo-front-door.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);

/** The JSON body of a reply; a plain client must get plain JSON, never an Agentfleet frame. */
function replyBody(data: Uint8Array): unknown {
  const text = new TextDecoder().decode(data);
  assert.ok(!text.startsWith('AF1 '), `a plain JSON reply, not a frame: ${text.slice(0, 60)}`);
  return JSON.parse(text);
}

describe('a plain NATS client through the bus front door', { skip }, () => {
  let echo: EchoFrontDoor;
  let nc: NatsConnection;
  const tenant = `t${Date.now().toString(36)}`;

  before(async () => {
    echo = await startEchoFrontDoor(await natsTransport({ servers: NATS_URL }), tenant);
    nc = await connect({ servers: NATS_URL });
  });

  after(async () => {
    await nc?.close();
    await echo?.close();
  });

  it('gets the reply, and the agent span continues its traceparent', async () => {
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const h = headers();
    h.set('traceparent', `00-${traceId}-1122334455667788-01`);
    const reply = await nc.request(`agent.${tenant}.bot.inbox`, JSON.stringify({ input: 'hi' }), {
      timeout: 3000,
      headers: h,
    });
    assert.deepEqual(replyBody(reply.data), { output: { echoed: 'hi' } });
    const spans = echo.exporter.getFinishedSpans();
    const decision = spans.find((s) => s.name === 'agent.decision');
    assert.ok(decision, `an agent.decision span among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(decision.spanContext().traceId, traceId, 'the agent span is in the caller trace');
  });

  it('an error is plain JSON { error: { code, message } }, the code also a NATS header', async () => {
    const reply = await nc.request(`agent.${tenant}.nobody.inbox`, JSON.stringify({ input: 1 }), {
      timeout: 3000,
    });
    const body = replyBody(reply.data) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'AGENT_NOT_FOUND');
    assert.match(body.error.message, /nobody/);
    assert.equal(reply.headers?.get('agentfleet-error'), 'AGENT_NOT_FOUND');
  });

  it('a bad request is INVALID_REQUEST in plain JSON', async () => {
    const reply = await nc.request(`agent.${tenant}.bot.inbox`, JSON.stringify({ nope: 1 }), {
      timeout: 3000,
    });
    assert.equal((replyBody(reply.data) as { error: { code: string } }).error.code, 'INVALID_REQUEST');
    assert.equal(reply.headers?.get('agentfleet-error'), 'INVALID_REQUEST');
  });

  it('an Agentfleet client still gets a framed reply', async () => {
    const reply = await withTenant(tenant, () =>
      echo.bus.request(`agent.${tenant}.bot.inbox`, { input: 'yo' }),
    );
    assert.deepEqual(reply.payload, { output: { echoed: 'yo' } });
    assert.equal(reply.plain, undefined);
    const client = createBus({ transport: await natsTransport({ servers: NATS_URL }) });
    try {
      await assert.rejects(
        withTenant(tenant, () => client.request(`agent.${tenant}.nobody.inbox`, { input: 1 })),
        (error: { code: string; details?: { remote?: { code?: string } } }) =>
          error.code === 'REQUEST_FAILED' && error.details?.remote?.code === 'AGENT_NOT_FOUND',
      );
    } finally {
      await client.close();
    }
  });
});

// A plain NATS client (no Agentfleet code) messages an agent through the bus front door, reads
// the reply, and the agent's span continues the traceparent it sent as a NATS header.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { type Bus, createBus } from '../../src/bus/index.ts';
import { natsTransport } from '../../src/bus/transports/nats.ts';
import { withTenant } from '../../src/context/index.ts';
import { createRuntime, defineAgent, type Runtime } from '../../src/core/index.ts';
import { BusFrontDoor } from '../../src/front-door/index.ts';
import { setupTracing, type TracingHandle } from '../../src/observability/index.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);

/** The payload of a reply: after the frame's header line when it is an Agentfleet frame. */
function replyBody(data: Uint8Array): unknown {
  const text = new TextDecoder().decode(data);
  return JSON.parse(text.startsWith('AF1 ') ? text.slice(text.indexOf('\n') + 1) : text);
}

describe('a plain NATS client through the bus front door', { skip }, () => {
  let exporter: InMemorySpanExporter;
  let tracing: TracingHandle;
  let runtime: Runtime;
  let bus: Bus;
  let door: BusFrontDoor;
  let nc: NatsConnection;
  const tenant = `t${Date.now().toString(36)}`;

  before(async () => {
    exporter = new InMemorySpanExporter();
    tracing = setupTracing({ exporter, immediate: true, env: {} })!;
    runtime = createRuntime();
    await withTenant(tenant, () =>
      runtime.spawn(defineAgent({ name: 'echo', decide: (input: unknown) => ({ echoed: input }) }), {
        id: 'bot',
      }),
    );
    bus = createBus({ transport: await natsTransport({ servers: NATS_URL }) });
    door = await BusFrontDoor.open(runtime, bus, { queue: `q${tenant}` });
    nc = await connect({ servers: NATS_URL });
  });

  after(async () => {
    await nc?.close();
    await door?.close();
    await bus?.close();
    await runtime?.close();
    await tracing?.shutdown();
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
    const spans = exporter.getFinishedSpans();
    const decision = spans.find((s) => s.name === 'agent.decision');
    assert.ok(decision, `an agent.decision span among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(decision.spanContext().traceId, traceId, 'the agent span is in the caller trace');
  });

  it("an error is the bus's error reply with the HTTP code", async () => {
    const reply = await nc.request(`agent.${tenant}.nobody.inbox`, JSON.stringify({ input: 1 }), {
      timeout: 3000,
    });
    const text = new TextDecoder().decode(reply.data);
    assert.match(text.slice(0, text.indexOf('\n')), /agentfleet-error/);
    assert.equal((replyBody(reply.data) as { code: string }).code, 'AGENT_NOT_FOUND');
  });
});

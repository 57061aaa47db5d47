// Export through the standard OTEL_* variables to a local OTLP/HTTP receiver (test/otlp), which
// decodes the payload: the proof that what leaves the process is valid OTLP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type OtlpReceiver, startOtlpReceiver } from '../../test/otlp/receiver.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { setupTracing, type TracingHandle } from './tracing-setup.ts';

let receiver: OtlpReceiver;
let handle: TracingHandle | undefined;

before(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_SERVICE_NAME = 'agentfleet-test';
  handle = setupTracing();
});
after(async () => {
  await handle?.shutdown();
  await receiver.close();
});

describe('OTLP/HTTP export configured by OTEL_* variables', () => {
  it('sends the agent spans; the receiver decodes names, ids, parents and attributes', async () => {
    assert.ok(handle, 'OTEL_EXPORTER_OTLP_ENDPOINT switches export on');
    const runtime = createRuntime();
    const agent = await runtime.spawn(defineAgent({ name: 'exported', decide: () => ({ type: 'ok' }) }), {
      id: 'x1',
    });
    await agent.send(1);
    await agent.stop();
    await runtime.close();
    await handle.forceFlush();
    const names = receiver.spans.map((s) => s.name).sort();
    assert.deepEqual(names, ['agent.decision', 'agent.start', 'agent.terminate']);
    const start = receiver.spans.find((s) => s.name === 'agent.start')!;
    const terminate = receiver.spans.find((s) => s.name === 'agent.terminate')!;
    assert.match(start.traceId, /^[0-9a-f]{32}$/);
    assert.equal(terminate.parentSpanId, start.spanId);
    assert.equal(start.attributes['agent.id'], 'x1');
    assert.equal(terminate.attributes['termination.reason'], 'success');
    assert.equal(start.serviceName, 'agentfleet-test');
    assert.equal(start.kind, 2, 'SPAN_KIND_SERVER in OTLP numbering');
  });
});

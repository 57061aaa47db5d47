import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { inSpan, SpanKind } from '../context/index.ts';
import { setupTracing, type TracingHandle } from './tracing-setup.ts';

const exporter = new InMemorySpanExporter();
let handle: TracingHandle;
before(() => {
  handle = setupTracing({ exporter, immediate: true, sampleRatio: 0.25, env: {} })!;
});
after(() => handle.shutdown());

describe('head sampling', () => {
  it('keeps about the ratio of new traces, and whole traces only: no child without its root', async () => {
    for (let i = 0; i < 2000; i++) {
      await inSpan('root', SpanKind.SERVER, {}, () =>
        inSpan('child', SpanKind.INTERNAL, {}, async () => {
          await new Promise((r) => setImmediate(r));
          inSpan('grandchild', SpanKind.INTERNAL, {}, () => 1);
        }),
      );
    }
    const spans = exporter.getFinishedSpans();
    const roots = spans.filter((s) => s.name === 'root');
    assert.ok(roots.length > 400 && roots.length < 600, `${roots.length} of 2000 at 25%`);
    const rootIds = new Set(roots.map((s) => s.spanContext().spanId));
    const children = spans.filter((s) => s.name === 'child');
    assert.equal(children.length, roots.length);
    assert.ok(children.every((c) => rootIds.has(c.parentSpanContext!.spanId)));
    assert.equal(spans.filter((s) => s.name === 'grandchild').length, roots.length);
  });
});

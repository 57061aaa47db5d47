import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { setupTracing, type TracingHandle } from '../observability/index.ts';
import { createLogger } from './logger.ts';
import { withTenant } from './tenant-context.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = { write: (line: string) => lines.push(JSON.parse(line)) };
  return { lines, logger: createLogger({ destination, level: 'info' }) };
}

let handle: TracingHandle;
before(() => {
  handle = setupTracing({ exporter: new InMemorySpanExporter(), immediate: true, env: {} })!;
});
after(() => handle.shutdown());

describe('logs', () => {
  it('carry trace_id, span_id and tenant from the context they are written in', () => {
    const { lines, logger } = capture();
    logger.info('outside');
    const span = trace.getTracer('t').startSpan('work');
    context.with(trace.setSpan(context.active(), span), () =>
      withTenant('acme', () => logger.info({ agent_id: 'a1' }, 'inside')),
    );
    span.end();
    assert.equal(lines[0]!.trace_id, undefined);
    assert.equal(lines[0]!.tenant, undefined);
    assert.equal(lines[1]!.trace_id, span.spanContext().traceId);
    assert.equal(lines[1]!.span_id, span.spanContext().spanId);
    assert.equal(lines[1]!.tenant, 'acme');
    assert.equal(lines[1]!.agent_id, 'a1');
  });

  it('never write API keys, Authorization headers, passwords or connection strings', () => {
    const { lines, logger } = capture();
    const secret = 'af_0123456789abcdef_SECRETSECRETSECRETSECRETSECRETSECRETSECRET1';
    logger.warn({ adminKey: secret, req: { headers: { authorization: `Bearer ${secret}` } } }, 'a');
    logger.warn(
      { config: { apiKey: secret, connectionString: `postgres://u:${secret}@h/db` }, key: secret },
      'b',
    );
    logger.warn({ headers: { authorization: secret } }, 'c');
    const text = JSON.stringify(lines);
    assert.ok(!text.includes('SECRET'), text);
    assert.equal(
      (lines[0]!.req as { headers: { authorization: string } }).headers.authorization,
      '[redacted]',
    );
  });
});

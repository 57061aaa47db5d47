import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startVendorServer, type VendorServer, vendorMidStreamError } from '../../test/vendors/server.ts';
import { createProvider } from '../models/index.ts';
import { isRetryableByDefault } from '../resilience/index.ts';
import type { GenerateRequest, Provider, StreamEvent } from './index.ts';

// What a vendor says about a failure inside a stream (DashScope `event:error`, an OpenAI
// `{"error":…}` chunk, Anthropic `event: error`) or in a 200 body must arrive as the typed,
// correctly retryable error, with the vendor's message and code.

const kinds = ['openai', 'anthropic', 'dashscope'] as const;
const tools = [
  {
    name: 'search',
    description: 'Search the docs',
    parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
];
const ask = (text: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: 'm1',
  messages: [{ role: 'user', content: text }],
  ...extra,
});
async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}
type Failure = Error & {
  code?: string;
  retryable?: boolean;
  status?: number;
  details?: Record<string, unknown>;
};
const failure = (events: StreamEvent[]): Failure => {
  const end = events.at(-1);
  assert.equal(end?.type, 'error', `the stream ended with ${end?.type}`);
  return (end as { error: Failure }).error;
};

const MAPPINGS = [
  ['ratelimit', 'LLM_RATE_LIMITED', true],
  ['server', 'LLM_SERVER_ERROR', true],
  ['overloaded', 'LLM_SERVER_ERROR', true],
  ['context', 'LLM_CONTEXT_LENGTH', false],
  ['inspection', 'LLM_BAD_REQUEST', false],
  ['badrequest', 'LLM_BAD_REQUEST', false],
] as const;

describe('vendor errors inside a stream and in 200 bodies', () => {
  let server: VendorServer;
  const providers = new Map<string, Provider>();
  const baseUrl = (kind: string) => (kind === 'openai' ? `${server.url}/v1` : server.url);
  before(async () => {
    server = await startVendorServer();
    for (const kind of kinds) {
      providers.set(kind, createProvider(kind, { baseUrl: baseUrl(kind), apiKey: 'test-key' }));
    }
  });
  after(async () => {
    await Promise.all([...providers.values()].map((p) => p.close()));
    await server.close();
  });

  for (const kind of kinds) {
    const p = () => providers.get(kind) as Provider;
    describe(kind, () => {
      for (const [error, code, retryable] of MAPPINGS) {
        it(`mid-stream ${error} → ${code} (retryable ${retryable}) with the vendor's message, after the good chunks`, async () => {
          const vendor = vendorMidStreamError(kind, error);
          const events = await collect(p().stream(ask(`scenario:mid${error}`)));
          assert.ok(
            events.some((e) => e.type === 'text-delta'),
            'the chunks before the error arrive',
          );
          const e = failure(events);
          assert.equal(e.code, code);
          assert.equal(e.retryable, retryable);
          assert.equal(isRetryableByDefault(e), retryable, 'as the resilience layer reads it');
          assert.ok(e.message.includes(vendor.message), e.message);
          assert.equal(e.details?.vendorCode, vendor.code);
          if (kind === 'dashscope') assert.equal(e.status, vendor.status, 'from the :HTTP_STATUS comment');
        });

        it(`a 200 answer whose body is the vendor's ${error} error → ${code} with its message`, async () => {
          const vendor = vendorMidStreamError(kind, error);
          await assert.rejects(p().generate(ask(`scenario:mid${error}`)), (e: Failure) => {
            assert.equal(e.code, code);
            assert.equal(e.retryable, retryable);
            assert.ok(e.message.includes(vendor.message), e.message);
            return true;
          });
        });
      }

      it('a stream answered with a JSON error body instead of events keeps the error', async () => {
        const vendor = vendorMidStreamError(kind, 'ratelimit');
        const e = failure(await collect(p().stream(ask('scenario:error200'))));
        assert.equal(e.code, 'LLM_RATE_LIMITED');
        assert.equal(e.retryable, true);
        assert.ok(e.message.includes(vendor.message), e.message);
      });

      it('a stream that ends after its finish reason without a terminator is a whole answer', async () => {
        const events = await collect(p().stream(ask('scenario:nodone all here')));
        const end = events.at(-1);
        assert.equal(end?.type, 'finish', JSON.stringify(end));
        assert.equal(end?.type === 'finish' && end.text, 'echo: scenario:nodone all here');
        assert.equal(end?.type === 'finish' && end.reason, 'stop');
      });

      it('a function name split across chunks is reassembled, in the start event too', async () => {
        const events = await collect(p().stream(ask('scenario:splitname go', { tools })));
        const start = events.find((e) => e.type === 'tool-call-start');
        assert.equal(start?.type === 'tool-call-start' && start.name, 'search');
        const end = events.find((e) => e.type === 'tool-call-end');
        assert.equal(end?.type === 'tool-call-end' && end.call.name, 'search');
        const finish = events.at(-1);
        assert.deepEqual(
          finish?.type === 'finish' && finish.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]),
          [['search', { query: 'x' }]],
        );
      });
    });
  }

  it('the resilience layer retries a retryable in-body error and not a final one', async () => {
    const resilient = createProvider('dashscope', {
      baseUrl: server.url,
      apiKey: 'k',
      resilience: { retry: { maxAttempts: 3, baseDelayMs: 0 } },
    });
    try {
      const calls = () => server.calls.filter((c) => c.headers['x-mock-scenario'] !== undefined).length;
      server.calls.length = 0;
      await assert.rejects(
        resilient.generate({ ...ask('x'), headers: { 'x-mock-scenario': 'midratelimit' } }),
        { code: 'LLM_RATE_LIMITED' },
      );
      assert.equal(calls(), 3, 'Throttling.RateQuota is retried');
      server.calls.length = 0;
      await assert.rejects(
        resilient.generate({ ...ask('x'), headers: { 'x-mock-scenario': 'midinspection' } }),
        { code: 'LLM_BAD_REQUEST' },
      );
      assert.equal(calls(), 1, 'DataInspectionFailed is not');
    } finally {
      await resilient.close();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { createVendorProvider, type GenerateRequest, type Provider, type StreamEvent } from './index.ts';

const tools = [
  {
    name: 'search',
    description: 'Search the docs',
    parameters: {
      type: 'object',
      properties: { query: { type: 'string' }, n: { type: 'integer' } },
      required: ['query'],
    },
  },
  {
    name: 'clock',
    description: 'Time now',
    parameters: { type: 'object', properties: { tz: { type: 'string' } } },
  },
];
const ask = (text: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: 'm1',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: text },
  ],
  ...extra,
});

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}
const last = (events: StreamEvent[]) => events.at(-1) as StreamEvent;
const errorCode = (events: StreamEvent[]) => {
  const e = last(events);
  return e.type === 'error' ? (e.error as { code?: string }).code : `no error, ended with ${e.type}`;
};

const kinds = ['openai', 'anthropic', 'dashscope'] as const;

describe('providers against each vendor’s wire format', () => {
  let server: VendorServer;
  const providers = new Map<string, Provider>();
  before(async () => {
    server = await startVendorServer();
    for (const kind of kinds) {
      providers.set(
        kind,
        createVendorProvider(kind, {
          baseUrl: kind === 'openai' ? `${server.url}/v1` : server.url,
          apiKey: 'test-key',
          http: { idleTimeoutMs: 300, headersTimeoutMs: 2_000 },
        }),
      );
    }
  });
  after(async () => {
    await Promise.all([...providers.values()].map((p) => p.close()));
    await server.close();
  });

  for (const kind of kinds) {
    const p = () => providers.get(kind) as Provider;
    describe(kind, () => {
      it('generates a plain answer with reported usage', async () => {
        const r = await p().generate(ask('hello there'));
        assert.equal(r.text, 'echo: hello there');
        assert.equal(r.finishReason, 'stop');
        assert.equal(r.usage.reported, true);
        assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0);
      });

      it('streams text deltas that add up to the answer, then finish with usage', async () => {
        const events = await collect(p().stream(ask('stream me')));
        const deltas = events.filter((e) => e.type === 'text-delta');
        assert.ok(deltas.length > 3, 'several deltas');
        assert.equal(deltas.map((e) => e.text).join(''), 'echo: stream me');
        const end = last(events);
        assert.equal(end.type, 'finish');
        if (end.type === 'finish') {
          assert.equal(end.text, 'echo: stream me');
          assert.equal(end.reason, 'stop');
          assert.equal(end.usage.reported, true);
        }
      });

      it('reassembles tool-call arguments split over many chunks, exactly', async () => {
        const events = await collect(p().stream(ask('scenario:tool find it', { tools })));
        const kindsSeen = events.map((e) => e.type);
        assert.ok(kindsSeen.indexOf('tool-call-start') < kindsSeen.indexOf('tool-call-delta'));
        assert.ok(
          events.filter((e) => e.type === 'tool-call-delta').length >= 4,
          'arguments arrive in pieces',
        );
        const end = events.find((e) => e.type === 'tool-call-end');
        assert.equal(end?.type === 'tool-call-end' && end.call.arguments, '{"query":"x","n":3}');
        const finish = last(events);
        assert.equal(finish.type === 'finish' && finish.reason, 'tool_calls');
        assert.deepEqual(
          finish.type === 'finish' && finish.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]),
          [['search', { query: 'x', n: 3 }]],
        );
        const whole = await p().generate(ask('scenario:tool find it', { tools }));
        assert.equal(whole.finishReason, 'tool_calls');
        assert.deepEqual(JSON.parse(whole.toolCalls[0]?.arguments ?? ''), { query: 'x', n: 3 });
      });

      it('carries tool results back and gets the final answer; parallel calls keep their order', async () => {
        const first = await p().generate(ask('scenario:parallel go', { tools }));
        assert.deepEqual(
          first.toolCalls.map((c) => c.name),
          ['search', 'clock'],
        );
        const followUp = ask('scenario:parallel go', { tools });
        followUp.messages.push(
          { role: 'assistant', content: '', toolCalls: first.toolCalls },
          ...first.toolCalls.map((c, i) => ({
            role: 'tool' as const,
            toolCallId: c.id,
            name: c.name,
            content: `result ${i}`,
          })),
        );
        const events = await collect(p().stream(followUp));
        const end = last(events);
        assert.equal(end.type === 'finish' && end.text, 'done: result 0 | result 1');
      });

      for (const [scenario, code] of [
        ['auth', 'LLM_AUTH'],
        ['ratelimit', 'LLM_RATE_LIMITED'],
        ['server', 'LLM_SERVER_ERROR'],
        ['context', 'LLM_CONTEXT_LENGTH'],
        ['malformed', 'LLM_MALFORMED_RESPONSE'],
      ] as const) {
        it(`${scenario} → ${code}, from generate and from stream`, async () => {
          await assert.rejects(
            p().generate(ask(`scenario:${scenario}`)),
            (e: { code?: string; retryAfterMs?: number }) => {
              assert.equal(e.code, code);
              if (scenario === 'ratelimit') assert.equal(e.retryAfterMs, 7_000);
              return true;
            },
          );
          const events = await collect(p().stream(ask(`scenario:${scenario}`)));
          assert.equal(errorCode(events), code);
        });
      }

      it('a connection reset mid-stream ends in LLM_CONNECTION_FAILED after the good chunks', async () => {
        const events = await collect(p().stream(ask('scenario:reset')));
        assert.equal(errorCode(events), 'LLM_CONNECTION_FAILED');
        await assert.rejects(p().generate(ask('scenario:reset')), { code: 'LLM_CONNECTION_FAILED' });
      });

      it('a stalled plain answer ends in LLM_TIMEOUT, or ABORTED when aborted', async () => {
        await assert.rejects(p().generate(ask('scenario:stall')), { code: 'LLM_TIMEOUT' });
        await assert.rejects(p().generate(ask('scenario:stall'), { signal: AbortSignal.timeout(30) }), {
          code: 'ABORTED',
        });
      });

      it('a stalled stream ends in LLM_TIMEOUT', async () => {
        assert.equal(errorCode(await collect(p().stream(ask('scenario:stall')))), 'LLM_TIMEOUT');
      });

      // The runner's guard, not a speed bound: a regression would otherwise hang for an hour.
      it('an abort ends a stalled stream with ABORTED, not by waiting for the idle timeout', {
        timeout: 60_000,
      }, async () => {
        // This provider's idle timeout is an hour: only the abort can end the stream.
        const patient = createVendorProvider(kind, {
          baseUrl: kind === 'openai' ? `${server.url}/v1` : server.url,
          apiKey: 'test-key',
          http: { idleTimeoutMs: 3_600_000 },
        });
        try {
          const controller = new AbortController();
          const events: StreamEvent[] = [];
          for await (const e of patient.stream(ask('scenario:stall'), { signal: controller.signal })) {
            events.push(e);
            controller.abort(); // on the first event: the stream has started, then stalls
          }
          assert.ok(events.length >= 2, 'an event before the stall, then the end');
          assert.equal(errorCode(events), 'ABORTED');
        } finally {
          await patient.close();
        }
      });

      it('rejects a request without a model or messages with INVALID_OPTIONS', async () => {
        await assert.rejects(p().generate({ model: '', messages: [] }), { code: 'INVALID_OPTIONS' });
        assert.equal(errorCode(await collect(p().stream({ model: 'm', messages: [] }))), 'INVALID_OPTIONS');
      });
    });
  }

  it('usage is estimated, and says so, when a vendor streams none', async () => {
    for (const kind of ['openai', 'dashscope']) {
      const end = last(await collect((providers.get(kind) as Provider).stream(ask('scenario:nousage hi'))));
      assert.equal(end.type, 'finish');
      if (end.type === 'finish') {
        assert.equal(end.usage.reported, false, kind);
        assert.ok(end.usage.inputTokens > 0 && end.usage.outputTokens > 0, kind);
      }
    }
  });

  it('sends each vendor’s own request shape', async () => {
    server.calls.length = 0;
    const follow: GenerateRequest = ask('scenario:tool x', {
      tools,
      temperature: 0.2,
      maxTokens: 50,
      toolChoice: 'auto',
    });
    follow.messages.push(
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ id: 'c1', name: 'search', arguments: '{"query":"q"}' }],
      },
      { role: 'tool', toolCallId: 'c1', name: 'search', content: 'found' },
    );
    for (const kind of kinds) await collect((providers.get(kind) as Provider).stream(follow));
    const [openai, anthropic, dashscope] = server.calls;
    assert.equal(openai?.path, '/v1/chat/completions');
    assert.equal(openai?.headers.authorization, 'Bearer test-key');
    assert.deepEqual(openai?.body.stream_options, { include_usage: true });
    assert.equal(openai?.body.tools[0].function.name, 'search');
    assert.deepEqual(openai?.body.messages.at(-1), { role: 'tool', tool_call_id: 'c1', content: 'found' });
    assert.equal(anthropic?.path, '/v1/messages');
    assert.equal(anthropic?.headers['x-api-key'], 'test-key');
    assert.equal(anthropic?.body.system, 'Be brief.');
    assert.equal(anthropic?.body.max_tokens, 50);
    assert.deepEqual(anthropic?.body.messages.at(-2).content[0], {
      type: 'tool_use',
      id: 'c1',
      name: 'search',
      input: { query: 'q' },
    });
    assert.deepEqual(anthropic?.body.messages.at(-1).content[0], {
      type: 'tool_result',
      tool_use_id: 'c1',
      content: 'found',
      is_error: false,
    });
    assert.equal(dashscope?.path, '/api/v1/services/aigc/text-generation/generation');
    assert.equal(dashscope?.headers['x-dashscope-sse'], 'enable');
    assert.equal(dashscope?.body.parameters.result_format, 'message');
    assert.equal(dashscope?.body.parameters.incremental_output, true);
    assert.equal(dashscope?.body.input.messages.length, 4);
  });
});

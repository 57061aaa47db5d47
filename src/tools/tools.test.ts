import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { liveResources, noMoreResourcesThan, rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import { defineTool, ToolRunner } from './index.ts';

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers',
  parameters: z.object({ a: z.number(), b: z.number().int().describe('an integer') }),
  execute: ({ a, b }) => ({ sum: a + b }),
});
const call = (name: string, args: string, id = 'c1') => ({ id, name, arguments: args });

describe('tools', () => {
  it('generates the JSON Schema the model sees from the zod schema', () => {
    assert.deepEqual(add.spec, {
      name: 'add',
      description: 'Adds two numbers',
      parameters: {
        type: 'object',
        properties: {
          a: { type: 'number' },
          b: {
            type: 'integer',
            description: 'an integer',
            minimum: -9007199254740991,
            maximum: 9007199254740991,
          },
        },
        required: ['a', 'b'],
      },
    });
  });

  it('rejects bad definitions with INVALID_OPTIONS', () => {
    const execute = () => 1;
    throwsWithCode(
      () => defineTool({ name: 'has space', description: '', parameters: z.object({}), execute }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(
      () => defineTool({ name: 'n', description: '', parameters: z.string(), execute }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(
      () => defineTool({ name: 'n', description: '', parameters: {} as z.ZodObject, execute }),
      'INVALID_OPTIONS',
    );
    throwsWithCode(() => new ToolRunner([add, add]), 'INVALID_OPTIONS');
  });

  it('validates arguments before execute; every failure is a tool message the model can recover from', async () => {
    const boom = defineTool({
      name: 'boom',
      description: 'Fails',
      parameters: z.object({}),
      execute: () => {
        throw new Error('disk on fire');
      },
    });
    const runner = new ToolRunner([add, boom]);
    const outcomes = await runner.run([
      call('add', '{"a":1,"b":2}', 'ok'),
      call('add', '{"a":1,', 'json'),
      call('add', '{"a":"1","b":2.5}', 'schema'),
      call('nope', '{}', 'unknown'),
      call('boom', '', 'throws'),
    ]);
    assert.deepEqual(
      outcomes.map((o) => [o.call.id, o.error?.code]),
      [
        ['ok', undefined],
        ['json', 'TOOL_ARGUMENTS_INVALID'],
        ['schema', 'TOOL_ARGUMENTS_INVALID'],
        ['unknown', 'TOOL_UNKNOWN'],
        ['throws', 'TOOL_FAILED'],
      ],
    );
    assert.equal(outcomes[0]?.message.content, '{"sum":3}');
    assert.equal(outcomes[0]?.message.isError, undefined);
    assert.match(outcomes[2]?.message.content ?? '', /"code":"TOOL_ARGUMENTS_INVALID".*a.*b/);
    assert.equal(outcomes[4]?.message.isError, true);
    assert.match(outcomes[4]?.message.content ?? '', /disk on fire/);
    assert.deepEqual(runner.stats(), {
      calls: 5,
      succeeded: 1,
      unknownTool: 1,
      invalidArguments: 2,
      failed: 1,
      timedOut: 0,
      truncated: 0,
    });
  });

  it('runs parallel calls concurrently up to the limit, with a timeout each, and truncates long results', async () => {
    let running = 0;
    let peak = 0;
    const work = defineTool({
      name: 'work',
      description: 'Works for one turn of the event loop',
      parameters: z.object({}),
      execute: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        return 'x'.repeat(100);
      },
    });
    let hangEnded = false;
    const hang = defineTool({
      name: 'hang',
      description: 'Ends only when its signal aborts',
      parameters: z.object({}),
      timeoutMs: 50,
      execute: (_args, { signal }) =>
        new Promise((resolve) =>
          signal.addEventListener(
            'abort',
            () => {
              hangEnded = true;
              resolve('late');
            },
            { once: true },
          ),
        ),
    });
    // The runner's own timeout is far off: only `hang` (50 ms of its own) can time out.
    const runner = new ToolRunner([work, hang], { concurrency: 3, timeoutMs: 600_000, maxResultChars: 40 });
    const calls = Array.from({ length: 9 }, (_, i) => call(i === 8 ? 'hang' : 'work', '{}', `c${i}`));
    const outcomes = await runner.run(calls);
    // three workers start three calls before any of them can end; a fourth only after one has
    assert.equal(peak, 3);
    assert.equal(outcomes[8]?.error?.code, 'TOOL_TIMEOUT');
    assert.equal(hangEnded, true, 'the timed-out tool saw its signal abort');
    assert.match(outcomes[0]?.message.content ?? '', /^x{40}\n…\[truncated: 40 of 100 characters shown\]$/);
    assert.equal(runner.stats().truncated, 8);
  });

  it('an aborted run rejects with ABORTED and leaves no timers or listeners', async () => {
    const baseline = liveResources();
    let started!: () => void;
    const executing = new Promise<void>((resolve) => {
      started = resolve;
    });
    const hang = defineTool({
      name: 'hang',
      description: 'Never ends',
      parameters: z.object({}),
      execute: () => {
        started();
        return new Promise(() => {});
      },
    });
    const controller = new AbortController();
    const running = new ToolRunner([hang], { timeoutMs: 60_000 }).run([call('hang', '{}')], {
      signal: controller.signal,
    });
    await executing;
    controller.abort();
    await rejectsWithCode(running, 'ABORTED');
    await noMoreResourcesThan(baseline);
  });
});

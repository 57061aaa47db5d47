import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { liveResources, rejectsWithCode, sleep, throwsWithCode } from '../../test/helpers.ts';
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
    const slow = defineTool({
      name: 'slow',
      description: 'Sleeps',
      parameters: z.object({ ms: z.number() }),
      execute: async ({ ms }, { signal }) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(ms);
        running--;
        return signal.aborted ? 'late' : 'x'.repeat(100);
      },
    });
    const runner = new ToolRunner([slow], { concurrency: 3, timeoutMs: 100, maxResultChars: 40 });
    const calls = Array.from({ length: 9 }, (_, i) =>
      call('slow', JSON.stringify({ ms: i === 8 ? 400 : 20 }), `c${i}`),
    );
    const outcomes = await runner.run(calls);
    assert.equal(peak, 3);
    assert.equal(outcomes[8]?.error?.code, 'TOOL_TIMEOUT');
    assert.match(outcomes[0]?.message.content ?? '', /^x{40}\n…\[truncated: 40 of 100 characters shown\]$/);
    assert.equal(runner.stats().truncated, 8);
    await sleep(450);
  });

  it('an aborted run rejects with ABORTED and leaves no timers or listeners', async () => {
    await sleep(10);
    const baseline = liveResources();
    const hang = defineTool({
      name: 'hang',
      description: 'Never ends',
      parameters: z.object({}),
      execute: () => new Promise(() => {}),
    });
    const controller = new AbortController();
    const running = new ToolRunner([hang], { timeoutMs: 60_000 }).run([call('hang', '{}')], {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    await rejectsWithCode(running, 'ABORTED');
    await sleep(10);
    assert.deepEqual(liveResources(), baseline);
  });
});

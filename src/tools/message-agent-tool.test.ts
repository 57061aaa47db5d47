import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { messageAgentTool, type ToolOutcome, ToolRunner } from './index.ts';

const ask = (agentId: string, message: string) => ({
  id: 'm',
  name: 'message_agent',
  arguments: JSON.stringify({ agentId, message }),
});

describe('messageAgentTool', () => {
  it("reaches the current tenant's agent, never another tenant's", async () => {
    const runtime = createRuntime();
    const echo = defineAgent({
      name: 'echo',
      decide: (input: string, ctx) => `${currentTenantId()}/${ctx.agentId} heard ${input}`,
    });
    try {
      await withTenant('acme', () => runtime.spawn(echo, { id: 'helper' }));
      await withTenant('globex', () => runtime.spawn(echo, { id: 'helper' }));
      await withTenant('globex', () => runtime.spawn(echo, { id: 'vault' }));
      const tool = messageAgentTool(runtime, { agents: ['helper', 'vault'] });
      const runner = new ToolRunner([tool]);
      const [acme] = await withTenant('acme', () => runner.run([ask('helper', 'hi')], { agentId: 'boss' }));
      const [globex] = await withTenant('globex', () =>
        runner.run([ask('helper', 'hi')], { agentId: 'boss' }),
      );
      const [stolen] = await withTenant('acme', () =>
        runner.run([ask('vault', 'open')], { agentId: 'boss' }),
      );
      assert.equal(acme?.value, 'acme/helper heard hi');
      assert.equal(globex?.value, 'globex/helper heard hi');
      assert.equal(stolen?.error?.code, 'TOOL_FAILED');
      assert.match(stolen?.error?.message ?? '', /AGENT_NOT_FOUND/);
    } finally {
      await runtime.close();
    }
  });

  it('refuses agents off the allow-list, itself, loops and chains longer than maxHops', async () => {
    const runtime = createRuntime();
    // A relay forwards "b>c>text" to b with "c>text"; a message without ">" is answered.
    let tool!: ReturnType<typeof messageAgentTool>;
    const relay = defineAgent({
      name: 'relay',
      decide: async (input: string, ctx) => {
        const at = input.indexOf('>');
        if (at === -1) return `${ctx.agentId}: ${input}`;
        const [outcome] = await new ToolRunner([tool]).run([ask(input.slice(0, at), input.slice(at + 1))], {
          agentId: ctx.agentId,
          signal: ctx.signal,
        });
        const o = outcome as ToolOutcome;
        return o.error === undefined ? o.value : `${ctx.agentId} got ${o.error.message}`;
      },
    });
    const other = defineAgent({ name: 'other', decide: () => 'other' });
    try {
      await withTenant('acme', async () => {
        for (const id of ['a', 'b', 'c', 'd']) await runtime.spawn(relay, { id, config: undefined });
        await runtime.spawn(other, { id: 'x' });
      });
      tool = messageAgentTool(runtime, { definitions: ['relay'], maxHops: 2 });
      const send = (id: string, input: string) => withTenant('acme', () => runtime.send<string>(id, input));
      assert.equal(await send('a', 'b>hello'), 'b: hello');
      assert.equal(await send('a', 'b>c>hello'), 'c: hello', 'two hops are allowed');
      assert.match(await send('a', 'b>c>d>hello'), /^c got .*TOOL_AGENT_LOOP: This message would be hop 3/);
      assert.match(await send('a', 'b>a>hello'), /^b got .*TOOL_AGENT_LOOP: Agent a is already waiting on b/);
      assert.match(await send('a', 'a>hello'), /^a got .*TOOL_AGENT_LOOP: An agent cannot message itself/);
      assert.match(
        await send('a', 'x>hello'),
        /^a got .*TOOL_AGENT_NOT_ALLOWED: Agent x may not be messaged/,
      );
      // the waits of finished messages are gone: the same chain works again
      assert.equal(await send('a', 'b>c>hello'), 'c: hello');
    } finally {
      await runtime.close();
    }
  });

  it('needs a caller id, an allow-list, and a target that can tell definitions', async () => {
    const target = { send: async () => 'ok' };
    const [unknown] = await new ToolRunner([messageAgentTool(target, { agents: ['b'] })]).run([
      ask('b', 'hi'),
    ]);
    assert.match(unknown?.error?.message ?? '', /TOOL_AGENT_UNKNOWN_CALLER/);
    const [fixed] = await new ToolRunner([messageAgentTool(target, { agents: ['b'], from: 'a' })]).run([
      ask('b', 'hi'),
    ]);
    assert.equal(fixed?.value, 'ok');
    const [offList] = await new ToolRunner([messageAgentTool(target, { agents: ['b'], from: 'a' })]).run([
      ask('c', 'hi'),
    ]);
    assert.equal(offList?.error?.code, 'TOOL_ARGUMENTS_INVALID', 'an id list is an enum the model sees');
    throwsWithCode(() => messageAgentTool(target), 'INVALID_OPTIONS');
    throwsWithCode(() => messageAgentTool(target, { agents: ['acme/b'] }), 'INVALID_OPTIONS');
    throwsWithCode(() => messageAgentTool(target, { definitions: ['relay'] }), 'INVALID_OPTIONS');
    throwsWithCode(() => messageAgentTool(target, { agents: ['b'], maxHops: 0 }), 'INVALID_OPTIONS');
  });
});

// Budgets on the LLM loop: every model call reserves, settles with the reported usage, and
// gives the reservation back when the provider fails; a refused call never reaches the provider.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { scriptedProvider, toolLoop } from '../../test/scripted-provider.ts';
import { TokenBudgetGate } from '../budgets/index.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import type { Provider } from '../llm/index.ts';
import { defineTool } from '../tools/index.ts';
import { llm } from './index.ts';

const ctx = () => ({ agentId: 'bot', signal: new AbortController().signal });
const isBudget = (e: unknown) => AgentfleetError.isInstance(e) && e.code === 'BUDGET_EXCEEDED';

describe('LLM cognition with a budget gate', () => {
  for (const streaming of [false, true]) {
    it(`settles each call with the reported usage (${streaming ? 'stream' : 'generate'})`, async () => {
      const gate = new TokenBudgetGate({
        tenantBudget: () => ({ tokensPerPeriod: 1_000, periodSeconds: 60 }),
      });
      const provider = scriptedProvider(toolLoop('noop', 2));
      const noop = defineTool({
        name: 'noop',
        description: 'n',
        parameters: z.object({}),
        execute: () => 'ok',
      });
      const brain = llm({ provider, model: 'm', tools: [noop], budgets: gate, maxTokens: 20 });
      await withTenant('acme', async () => {
        if (streaming) for await (const _ of brain.run('hi', ctx()));
        else await brain.decide('hi', ctx());
      });
      // Three calls of 10 input + 5 output tokens each (the scripted provider's usage).
      assert.equal(provider.calls, 3);
      assert.equal(gate.spendOf('acme').tokens, 45);
      assert.equal(gate.spendOf('acme').reservedTokens, 0);
    });
  }

  it('refuses a call past the agent’s budget before it reaches the provider', async () => {
    const gate = new TokenBudgetGate();
    const provider = scriptedProvider(() => ({ text: 'done' }));
    const brain = llm({
      provider,
      model: 'm',
      budgets: gate,
      budget: { tokensPerPeriod: 40 },
      maxTokens: 20,
    });
    await withTenant('acme', async () => {
      await brain.decide('hi', ctx()); // estimated 21, used 15
      await brain.decide('hi', ctx()); // 15 + 21 ≤ 40, used 15
      await assert.rejects(brain.decide('hi', ctx()), isBudget); // 30 + 21 > 40
    });
    assert.equal(provider.calls, 2);
  });

  it('a refused step reaches the sender as BUDGET_EXCEEDED and does not fail the agent', async () => {
    const gate = new TokenBudgetGate();
    const provider = scriptedProvider(() => ({ text: 'done' }));
    const brain = llm({ provider, model: 'm', budgets: gate, budget: { tokensPerPeriod: 10 } });
    const runtime = createRuntime();
    try {
      const def = defineAgent({ name: 'spender', decide: brain, onStepError: 'fail' });
      const agent = await withTenant('acme', () => runtime.spawn(def, { id: 'bot' }));
      await withTenant('acme', () => assert.rejects(agent.send('hi'), isBudget));
      assert.equal(agent.state, 'running');
      assert.equal(provider.calls, 0);
    } finally {
      await runtime.close();
    }
  });

  it('gives the reservation back when the provider fails', async () => {
    const gate = new TokenBudgetGate({ tenantBudget: () => ({ tokensPerPeriod: 100, periodSeconds: 60 }) });
    const failing: Provider = {
      name: 'failing',
      async generate() {
        throw new AgentfleetError('LLM_SERVER_ERROR', 'down');
      },
      async *stream() {
        yield { type: 'error', error: new AgentfleetError('LLM_SERVER_ERROR', 'down') };
      },
      async close() {},
    };
    const brain = llm({ provider: failing, model: 'm', budgets: gate, maxTokens: 50 });
    await withTenant('acme', async () => {
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          brain.decide('hi', ctx()),
          (e: { code?: string }) => e.code === 'LLM_SERVER_ERROR',
        );
        await assert.rejects(
          (async () => {
            for await (const _ of brain.run('hi', ctx()));
          })(),
          (e: { code?: string }) => e.code === 'LLM_SERVER_ERROR',
        );
      }
    });
    assert.equal(gate.spendOf('acme').tokens, 0);
    assert.equal(gate.spendOf('acme').reservedTokens, 0);
  });

  it('rejects a budget of the wrong shape when the cognition is made', () => {
    const provider = scriptedProvider(() => ({ text: 'x' }));
    for (const budget of [{}, { tokensPerPeriod: -1 }, { costPerPeriod: 1, periodSeconds: 0 }])
      assert.throws(
        () => llm({ provider, model: 'm', budgets: new TokenBudgetGate(), budget: budget as never }),
        (e: unknown) => AgentfleetError.isInstance(e) && e.code === 'INVALID_OPTIONS',
      );
  });
});

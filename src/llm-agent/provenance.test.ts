import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { scriptedProvider, toolLoop } from '../../test/scripted-provider.ts';
import { startVendorServer } from '../../test/vendors/server.ts';
import { TokenBudgetGate } from '../budgets/index.ts';
import { withTenant } from '../context/index.ts';
import { createProvider } from '../models/index.ts';
import { type DecisionDraft, sha256 } from '../provenance/index.ts';
import { MemoryRunStore } from '../runs/index.ts';
import { defineTool } from '../tools/index.ts';
import { llm } from './index.ts';

const signal = new AbortController().signal;
const lookup = defineTool({
  name: 'lookup',
  description: 'Look up',
  parameters: z.object({ q: z.string() }),
  execute: ({ q }) => `result for ${q}`,
});
const refund = defineTool({
  name: 'refund',
  description: 'Refund',
  parameters: z.object({ amount: z.number() }),
  needsApproval: () => 'always',
  execute: ({ amount }) => ({ refunded: amount }),
});

function sink() {
  const drafts: DecisionDraft[] = [];
  return { drafts, record: (d: DecisionDraft) => drafts.push(d) };
}

describe('provenance of LLM decisions', () => {
  it('records one draft per message: who, spec, model, hashes, passages, tool calls, tokens, outcome', async () => {
    const provenance = sink();
    const brain = llm({
      provider: scriptedProvider(toolLoop('lookup', 1, () => ({ q: 'x' }))),
      model: 'm-1',
      system: 'You look things up.',
      tools: [lookup],
      provenance,
      knowledge: {
        base: { search: async () => [{ documentId: 'handbook', chunk: 3, text: 'about x', score: 0.9 }] },
      },
    });
    const answer = await withTenant('acme', () =>
      brain.decide('what is x', { agentId: 'helper', signal, definition: 'helper', version: 'v7' }),
    );
    assert.equal(answer.stoppedBy, 'answer');
    assert.equal(provenance.drafts.length, 1);
    const [d] = provenance.drafts;
    assert.ok(d !== undefined);
    assert.equal(d.tenant, 'acme');
    assert.equal(d.agentId, 'helper');
    assert.equal(d.definition, 'helper');
    assert.equal(d.specVersion, 'v7');
    assert.equal(d.provider, 'scripted');
    assert.equal(d.model, 'm-1');
    assert.equal(d.modelVersion, null);
    assert.equal(d.inputHash, sha256('what is x'));
    assert.match(d.promptHash, /^[0-9a-f]{64}$/);
    assert.deepEqual(d.passages, [{ documentId: 'handbook', chunk: 3, documentVersion: null, score: 0.9 }]);
    assert.deepEqual(d.toolCalls, [
      {
        name: 'lookup',
        argumentsHash: sha256('{"q":"x"}'),
        resultHash: sha256('result for x'),
        approval: null,
        approvedBy: null,
      },
    ]);
    assert.equal(d.inputTokens, 20);
    assert.equal(d.outputTokens, 10);
    assert.equal(d.steps, 2);
    assert.equal(d.stoppedBy, 'answer');
    assert.equal(d.errorCode, null);
    assert.equal(d.cost, null);
    assert.ok(d.latencyMs >= 0);
    // A second message with the same prompt hashes it the same; the input differs.
    await brain.decide('what is y', { agentId: 'helper', signal });
    assert.equal(provenance.drafts[1]?.promptHash, d.promptHash);
    assert.equal(provenance.drafts[1]?.tenant, '-', 'outside a tenant');
    assert.notEqual(provenance.drafts[1]?.inputHash, d.inputHash);
  });

  it('records a suspension for approval and the resumed answer with its approval', async () => {
    const provenance = sink();
    const store = new MemoryRunStore();
    const brain = llm({
      provider: scriptedProvider(toolLoop('refund', 1, () => ({ amount: 5 }))),
      model: 'm',
      tools: [refund],
      runs: store,
      provenance,
    });
    const first = await brain.decide('refund', { agentId: 'a', signal });
    assert.equal(first.stoppedBy, 'awaiting-approval');
    assert.equal(provenance.drafts[0]?.stoppedBy, 'awaiting-approval');
    assert.equal(provenance.drafts[0]?.runId, first.runId);
    assert.equal(provenance.drafts[0]?.toolCalls[0]?.resultHash, null);
    const [approval] = await store.listApprovals(undefined, { status: 'pending' });
    assert.ok(approval !== undefined);
    await store.decideApproval(undefined, approval.id, { status: 'approved', at: Date.now() });
    const resumed = await brain.decide('', {
      agentId: 'a',
      signal,
      run: { id: first.runId as string, resume: true },
    });
    assert.equal(resumed.stoppedBy, 'answer');
    const last = provenance.drafts[1];
    assert.equal(last?.runId, first.runId);
    assert.equal(last?.toolCalls[0]?.approval, 'approved');
    assert.notEqual(last?.toolCalls[0]?.resultHash, null);
  });

  it('records the model version the vendor reported, from a response and from a stream', async () => {
    const vendor = await startVendorServer();
    const provider = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
    try {
      const provenance = sink();
      const brain = llm({ provider, model: 'gpt-test-2026-05', provenance });
      await brain.decide('hello', { agentId: 'a', signal });
      for await (const _ of brain.run('hello', { agentId: 'a', signal })) {
        // streamed
      }
      assert.deepEqual(
        provenance.drafts.map((d) => [d.provider, d.modelVersion]),
        [
          ['openai', 'gpt-test-2026-05'],
          ['openai', 'gpt-test-2026-05'],
        ],
      );
    } finally {
      await provider.close();
      await vendor.close();
    }
  });

  it('records a failure with its error code, and a sink that throws never fails the decision', async () => {
    const provenance = sink();
    const failing = llm({
      provider: scriptedProvider(() => ({ text: 'not json' })),
      model: 'm',
      output: z.object({ a: z.number() }),
      provenance,
    });
    await assert.rejects(failing.decide('x', { agentId: 'a', signal }), { code: 'LLM_OUTPUT_INVALID' });
    assert.equal(provenance.drafts[0]?.errorCode, 'LLM_OUTPUT_INVALID');
    assert.equal(provenance.drafts[0]?.stoppedBy, null);
    const brain = llm({
      provider: scriptedProvider(() => ({ text: 'ok' })),
      model: 'm',
      provenance: {
        record() {
          throw new Error('full');
        },
      },
    });
    assert.equal((await brain.decide('x', { agentId: 'a', signal })).text, 'ok');
  });

  it('records what the decision cost when a budget gate prices its model', async () => {
    const provenance = sink();
    const budgets = new TokenBudgetGate({
      prices: { 'scripted/m-1': { inputPerMillion: 1_000, outputPerMillion: 2_000 } },
    });
    const brain = llm({
      provider: scriptedProvider(toolLoop('lookup', 1, () => ({ q: 'x' }))),
      model: 'm-1',
      tools: [lookup],
      provenance,
      budgets,
      priceAs: 'scripted/m-1',
    });
    await withTenant('acme', () => brain.decide('what is x', { agentId: 'helper', signal }));
    // Two model calls, each 10 input and 5 output tokens (the scripted provider's usage).
    assert.equal(provenance.drafts[0]?.cost, (2 * (10 * 1_000 + 5 * 2_000)) / 1_000_000);
    const unpriced = sink();
    await withTenant('acme', () =>
      llm({
        provider: scriptedProvider(() => ({ text: 'hi' })),
        model: 'm-2',
        provenance: unpriced,
        budgets,
      }).decide('hello', { agentId: 'helper', signal }),
    );
    assert.equal(unpriced.drafts[0]?.cost, null, 'no price: no cost, rather than 0');
  });
});

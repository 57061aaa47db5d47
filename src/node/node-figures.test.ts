import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ModelCallEvent, modelCallChannel } from '../context/index.ts';
import { ModelRegistry } from '../models/index.ts';
import { MemoryRunStore } from '../runs/index.ts';
import { NodeFigures } from './node-figures.ts';

const call = (tokens: number): ModelCallEvent => ({
  provider: 'p',
  model: 'm',
  mode: 'generate',
  durationMs: 1,
  inputTokens: tokens / 2,
  outputTokens: tokens / 2,
  errorCode: undefined,
});

test('tokens per second over the last ten whole seconds; calls without usage count nothing', async (t) => {
  let now = 1_000_000;
  const runs = new MemoryRunStore();
  const figures = new NodeFigures({ models: new ModelRegistry(), runs, owner: 'n1', now: () => now });
  t.after(async () => {
    await figures.close();
    await runs.close();
  });
  assert.equal(figures.tokensPerSecond(), 0);
  for (let s = 0; s < 10; s++) {
    modelCallChannel.publish(call(100));
    now += 1000;
  }
  modelCallChannel.publish({ ...call(0), inputTokens: undefined, outputTokens: undefined });
  assert.equal(figures.tokensPerSecond(), 100, '1,000 tokens over 10 s (this second not counted yet)');
  now += 20_000;
  assert.equal(figures.tokensPerSecond(), 0, 'old seconds drop out');
  assert.deepEqual(figures.modelCalls(), { inFlight: 0, waiting: 0 });
});

test('runs awaiting approval are counted in the background and stand until the next count', async (t) => {
  const now = 0;
  const runs = new MemoryRunStore();
  const figures = new NodeFigures({
    models: new ModelRegistry(),
    runs,
    owner: 'n1',
    runsEveryMs: 1000,
    now: () => now,
  });
  t.after(async () => {
    await figures.close();
    await runs.close();
  });
  const run = (n: number, status: 'running' | 'awaiting-approval', owner = 'n1') => ({
    id: `run_000000000abcdefghij${n}`,
    tenant: 't',
    agentId: 'a',
    definition: 'd',
    version: '1',
    status,
    step: 0,
    usage: { inputTokens: 0, outputTokens: 0 },
    seq: 0,
    owner,
    createdAt: 1,
    updatedAt: 1,
  });
  assert.equal(figures.runsAwaitingApproval(), 0);
  await runs.create(run(1, 'awaiting-approval'), []);
  await runs.create(run(2, 'running'), []);
  await runs.create(run(3, 'awaiting-approval', 'other'), []);
  assert.equal(figures.runsAwaitingApproval(), 0, 'the last count stands until the next');
  assert.equal(await figures.refresh(), 1, 'only this node’s runs awaiting approval');
  assert.equal(figures.runsAwaitingApproval(), 1);
});

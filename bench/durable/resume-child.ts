// A restarted node for runs-resume.bench.ts: opens the data folder the parent filled with
// unfinished runs, and reports when the first resumed run took a step and when all finished.
import { z } from 'zod';
import { defineAgent } from '../../src/core/index.ts';
import type { GenerateRequest, GenerateResult, Provider, StreamEvent } from '../../src/llm/index.ts';
import { llm } from '../../src/llm-agent/index.ts';
import { createNode } from '../../src/node/index.ts';
import { defineTool } from '../../src/tools/index.ts';

const processStart = performance.timeOrigin;
const [dataDir, countText] = process.argv.slice(2);
const count = Number(countText);
let firstStepAt = 0;
let calls = 0;
let allStepsAt = 0;
const provider: Provider = {
  name: 'fake',
  async generate(): Promise<GenerateResult> {
    calls++;
    if (calls === 1) firstStepAt = performance.now();
    if (calls === count) allStepsAt = performance.now();
    return {
      text: 'done',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 1, reported: true },
    };
  },
  async *stream(request: GenerateRequest): AsyncIterable<StreamEvent> {
    const r = await provider.generate(request);
    yield { type: 'finish', reason: r.finishReason, usage: r.usage, text: r.text, toolCalls: r.toolCalls };
  },
  async close() {},
};
const lookup = defineTool({
  name: 'lookup',
  description: 'Looks up',
  parameters: z.object({}),
  execute: () => 42,
});
const startedAt = performance.now();
const node = await createNode(
  {
    logLevel: (process.env.LOG_LEVEL as 'silent') ?? 'silent',
    runs: 'sqlite',
    dataDir,
    nodeId: 'bench-node',
    busFrontDoor: false,
  },
  {
    definitions: [
      defineAgent({ name: 'resumer', durable: true, decide: llm({ provider, model: 'm', tools: [lookup] }) }),
    ],
  },
);
const readyAt = performance.now();
while (calls < count) await new Promise((r) => setTimeout(r, 5));
let unfinished = 1;
while (unfinished > 0) {
  unfinished = (await node.runs.store.unfinished({ limit: 1 })).length;
  if (unfinished > 0) await new Promise((r) => setTimeout(r, 20));
}
const finishedAt = performance.now();
await node.close();
console.log(
  JSON.stringify({
    processToFirstStepMs: firstStepAt + (performance.timeOrigin - processStart),
    createNodeToFirstStepMs: firstStepAt - startedAt,
    createNodeMs: readyAt - startedAt,
    allStepsMs: allStepsAt - startedAt,
    allFinishedMs: finishedAt - startedAt,
  }),
);

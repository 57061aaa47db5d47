// The agent-loop workload on Agentfleet, with no checkpointing: one `defineAgent` whose
// cognition is `llm({...})` over a fake in-process Provider and one trivial tool, spawned once
// per agent in a runtime with its defaults (pool, mailbox, conversation memory), each sent one
// message with `runtime.send`. Checkpointing variants pass extra cognition options.
import { z } from 'zod';
import { createRuntime, defineAgent } from '../../src/core/index.ts';
import type { GenerateRequest, GenerateResult, Provider, StreamEvent } from '../../src/llm/index.ts';
import { type LlmAnswer, type LlmCognitionOptions, llm } from '../../src/llm-agent/index.ts';
import { defineTool, type Tool } from '../../src/tools/index.ts';
import {
  checkLoopOptions,
  FINAL_TEXT,
  fakeTurn,
  type LoopFigures,
  lookup,
  measureLoop,
  PROMPT,
  TOOL_ARGS_JSON,
  TOOL_DESCRIPTION,
  TOOL_NAME,
} from './workload.ts';

const NO_USAGE = { inputTokens: 0, outputTokens: 0, reported: true };

/** A Provider answering in process (no HTTP, no timers) as `fakeTurn` says; `calls` counts model calls. */
export class FakeLoopProvider implements Provider {
  readonly name = 'fake-loop';
  readonly #steps: number;
  calls = 0;

  /** @param steps model steps per run: tool calls on the first `steps - 1`, then the final text. */
  constructor(steps: number) {
    this.#steps = steps;
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    this.calls++;
    let seen = 0;
    for (const m of request.messages) if (m.role === 'tool') seen++;
    const turn = fakeTurn(seen, this.#steps);
    return 'text' in turn
      ? { text: turn.text, toolCalls: [], finishReason: 'stop', usage: NO_USAGE }
      : {
          text: '',
          toolCalls: [{ id: turn.toolCallId, name: TOOL_NAME, arguments: TOOL_ARGS_JSON }],
          finishReason: 'tool_calls',
          usage: NO_USAGE,
        };
  }

  /** The same answer as one `finish` event (the loop streams only when the sender listens). */
  async *stream(request: GenerateRequest): AsyncIterable<StreamEvent> {
    const r = await this.generate(request);
    if (r.text !== '') yield { type: 'text-delta', text: r.text };
    yield { type: 'finish', reason: r.finishReason, usage: r.usage, text: r.text, toolCalls: r.toolCalls };
  }

  async close(): Promise<void> {}
}

/** The workload's one tool: `lookup({ key })` answers a small JSON object. */
export function createLookupTool(): Tool {
  return defineTool({
    name: TOOL_NAME,
    description: TOOL_DESCRIPTION,
    parameters: z.object({ key: z.string() }),
    execute: lookup,
  });
}

/** Cognition options a variant may add or override (a checkpoint store, memory, resilience, …). */
export type ExtraCognitionOptions = Partial<Omit<LlmCognitionOptions<undefined>, 'provider' | 'registry'>>;

/**
 * Runs `agents` Agentfleet agent runs of `steps` model steps each, `BATCH` messages at a
 * time, after one warm-up run (not counted). Agents are spawned before the clock starts.
 * Throws if a run does not answer with the final text after `steps` steps.
 */
export async function runAgentfleetLoop(o: {
  agents: number;
  steps: number;
  signal?: AbortSignal;
  cognition?: ExtraCognitionOptions;
}): Promise<LoopFigures> {
  checkLoopOptions(o);
  const provider = new FakeLoopProvider(o.steps);
  const cognition = llm({
    model: 'fake',
    provider,
    tools: [createLookupTool()],
    maxSteps: o.steps,
    ...o.cognition,
  });
  const definition = defineAgent({ name: 'looper', decide: cognition, act: (answer) => answer });
  const runtime = createRuntime();
  try {
    const ids = ['warmup', ...Array.from({ length: o.agents }, (_, i) => `agent-${i}`)];
    for (const id of ids) await runtime.spawn(definition, { id });
    const sendOptions = o.signal === undefined ? {} : { signal: o.signal };
    const runOne = async (id: string) => {
      const answer = await runtime.send<LlmAnswer<undefined>>(id, PROMPT, sendOptions);
      if (answer.steps !== o.steps || answer.text !== FINAL_TEXT)
        throw new Error(`agent ${id}: ${answer.steps} steps, expected ${o.steps}`);
    };
    await runOne('warmup');
    const figures = await measureLoop(o, (i) => runOne(`agent-${i}`));
    if (provider.calls !== (o.agents + 1) * o.steps)
      throw new Error(`the model was called ${provider.calls} times, expected ${(o.agents + 1) * o.steps}`);
    return figures;
  } finally {
    await runtime.close();
    await cognition.close();
  }
}

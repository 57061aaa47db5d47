// The agent-loop workload on LangGraph.js: one StateGraph (a model node and a ToolNode, the
// graph `createReactAgent` builds, written out as LangGraph's docs do) compiled once, each
// agent one `invoke` on its own thread (`thread_id` = agent id), with no checkpointer or with
// MemorySaver, SqliteSaver (a temp file) or PostgresSaver (a fresh schema on the loopback
// server, dropped afterwards), each as a user gets it from `fromConnString`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage, HumanMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { tool } from '@langchain/core/tools';
import {
  type BaseCheckpointSaver,
  END,
  MemorySaver,
  MessagesAnnotation,
  START,
  StateGraph,
} from '@langchain/langgraph';
import { ToolNode, toolsCondition } from '@langchain/langgraph/prebuilt';
import pg from 'pg';
import { z } from 'zod';
import { POSTGRES_URL } from '../../test/integration/servers.ts';
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

export type LangGraphCheckpointer = 'none' | 'memory' | 'sqlite' | 'postgres';

/**
 * A chat model answering in process (no HTTP, no timers) like `fakeTurn` says: tool calls,
 * then the final text. It parses the call's JSON arguments as a provider adapter would.
 */
class FakeToolCallingModel extends BaseChatModel {
  readonly #steps: number;
  calls = 0;

  constructor(steps: number) {
    super({});
    this.#steps = steps;
  }

  _llmType(): string {
    return 'fake-tool-calling';
  }

  /** Tools are fixed (the fake always calls `lookup`), so binding returns the model itself. */
  override bindTools(): this {
    return this;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.calls++;
    let seen = 0;
    for (const m of messages) if (m.getType() === 'tool') seen++;
    const turn = fakeTurn(seen, this.#steps);
    const message =
      'text' in turn
        ? new AIMessage(turn.text)
        : new AIMessage({
            content: '',
            tool_calls: [
              { id: turn.toolCallId, name: TOOL_NAME, args: JSON.parse(TOOL_ARGS_JSON), type: 'tool_call' },
            ],
          });
    return { generations: [{ text: typeof message.content === 'string' ? message.content : '', message }] };
  }
}

/** A checkpointer of the given kind and how to remove what it left (the file, the schema). */
async function openCheckpointer(
  kind: LangGraphCheckpointer,
): Promise<{ saver?: BaseCheckpointSaver; dispose: () => Promise<void> }> {
  if (kind === 'none') return { dispose: async () => {} };
  if (kind === 'memory') return { saver: new MemorySaver(), dispose: async () => {} };
  if (kind === 'sqlite') {
    const { SqliteSaver } = await import('@langchain/langgraph-checkpoint-sqlite');
    const dir = mkdtempSync(join(tmpdir(), 'lg-bench-'));
    const saver = SqliteSaver.fromConnString(join(dir, 'checkpoints.db'));
    return {
      saver,
      dispose: async () => {
        saver.db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const { PostgresSaver } = await import('@langchain/langgraph-checkpoint-postgres');
  const schema = `lg_bench_${randomBytes(4).toString('hex')}`;
  const saver = PostgresSaver.fromConnString(POSTGRES_URL, { schema });
  await saver.setup();
  return {
    saver,
    dispose: async () => {
      await saver.end();
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The agent graph: model node → (tool calls? → ToolNode → model node) → end. */
function buildGraph(model: FakeToolCallingModel, saver: BaseCheckpointSaver | undefined) {
  const tools = [
    tool(async (args: { key: string }) => JSON.stringify(lookup(args)), {
      name: TOOL_NAME,
      description: TOOL_DESCRIPTION,
      schema: z.object({ key: z.string() }),
    }),
  ];
  const bound = model.bindTools();
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', async (state) => ({ messages: [await bound.invoke(state.messages)] }))
    .addNode('tools', new ToolNode(tools))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', toolsCondition, ['tools', END])
    .addEdge('tools', 'agent')
    .compile(saver === undefined ? {} : { checkpointer: saver });
}

/**
 * Runs `agents` LangGraph agent runs of `steps` model steps each, `BATCH` at a time, after
 * one warm-up run (not counted). Throws if a run ends with other than `2 × steps` messages.
 */
export async function runLangGraphLoop(o: {
  agents: number;
  steps: number;
  checkpointer: LangGraphCheckpointer;
  /** When checkpoints are written: LangGraph's default `async` (while the next step runs), `sync` or `exit`. */
  durability?: 'async' | 'sync' | 'exit';
  signal?: AbortSignal;
}): Promise<LoopFigures> {
  checkLoopOptions(o);
  const { saver, dispose } = await openCheckpointer(o.checkpointer);
  try {
    const model = new FakeToolCallingModel(o.steps);
    const graph = buildGraph(model, saver);
    const runOne = async (threadId: string) => {
      const result = await graph.invoke(
        { messages: [new HumanMessage(PROMPT)] },
        {
          configurable: { thread_id: threadId },
          ...(o.durability === undefined ? {} : { durability: o.durability }),
          ...(o.signal === undefined ? {} : { signal: o.signal }),
        },
      );
      const last = result.messages.at(-1);
      if (result.messages.length !== 2 * o.steps || last?.content !== FINAL_TEXT)
        throw new Error(`thread ${threadId}: ${result.messages.length} messages, expected ${2 * o.steps}`);
    };
    await runOne('warmup');
    const figures = await measureLoop(o, (i) => runOne(`agent-${i}`));
    if (model.calls !== (o.agents + 1) * o.steps)
      throw new Error(`the model was called ${model.calls} times, expected ${(o.agents + 1) * o.steps}`);
    return figures;
  } finally {
    await dispose();
  }
}

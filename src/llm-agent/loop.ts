import type { z } from 'zod';
import { currentTenantId } from '../context/index.ts';
import type { AgentStreamPart, RunRequest } from '../core/index.ts';
import { AbortedError, AgentfleetError, InvalidOptionsError } from '../errors/index.ts';
import type { Passage } from '../knowledge/index.ts';
import type { GenerateRequest, Message, Provider, ResponseFormat, ToolCall, Usage } from '../llm/index.ts';
import { type ModelRegistry, streamThrough } from '../models/index.ts';
import { parseResiliencePolicy, ResiliencePolicy, type ResiliencePolicyConfig } from '../resilience/index.ts';
import {
  isFinished,
  MemoryRunStore,
  newRunId,
  type RunStore,
  RunsError,
  runNotFound,
} from '../runs/index.ts';
import {
  jsonSchemaOf,
  type Tool,
  type ToolOutcome,
  ToolRunner,
  type ToolRunnerOptions,
} from '../tools/index.ts';
import type { LlmAgentErrorCode } from './error-codes.ts';
import { type ConversationHistory, ConversationMemory, type ConversationMemoryOptions } from './memory.ts';
import { RunCheckpoint } from './run-checkpoint.ts';
import { foldRun, type LoopState, newLoopState } from './run-state.ts';
import { runToolStep, settleFailedRun } from './run-tool-step.ts';
import { StoredConversationMemory } from './stored-memory.ts';

/** What the loop streams to its caller while it runs: the LLM members of core's `AgentStreamPart` (checked where it emits). */
export type AgentEvent =
  | { type: 'run-start'; runId: string; resumed: boolean }
  | {
      type: 'tool-approval-request';
      step: number;
      approvalId: string;
      runId: string;
      call: ToolCall;
      kind: 'approval' | 'interrupted';
      reason?: string;
    }
  | { type: 'step-start'; step: number }
  | { type: 'text-delta'; step: number; text: string }
  | { type: 'tool-call'; step: number; call: ToolCall }
  | { type: 'tool-result'; step: number; outcome: ToolOutcome }
  | { type: 'step-finish'; step: number; usage: Usage }
  | { type: 'final'; answer: LlmAnswer<unknown> };

/** Why the loop ended (`awaiting-approval`: the run is suspended until people decide its `approvals`). */
export type StopReason = 'answer' | 'max-steps' | 'stop-condition' | 'awaiting-approval';

export interface LlmAnswer<Output> {
  text: string;
  /** The structured output, parsed and validated by `output`; undefined without one. */
  output: Output;
  steps: number;
  toolCalls: number;
  usage: Usage;
  stoppedBy: StopReason;
  /** Passages retrieved from `knowledge` and put in the model's context (for citations and provenance). */
  passages?: Passage[];
  /** The durable run's id, when the cognition has a run store. */
  runId?: string;
  /** What a suspended run waits for (`stoppedBy: 'awaiting-approval'`). */
  approvals?: Array<{ approvalId: string; callId: string; kind: 'approval' | 'interrupted' }>;
}

/** What the loop sees of the step it runs in (an agent's `StepContext` has all of it). */
export interface LoopContext {
  agentId: string;
  signal: AbortSignal;
  definition?: string;
  version?: string;
  config?: unknown;
  run?: RunRequest | undefined;
}

/** Where an LLM cognition retrieves passages from: a `KnowledgeBase`, or anything that searches like one. */
export interface KnowledgeSource {
  /** The source itself (`search(tenant, query, k)`). */
  base: { search(tenant: string, query: string, k: number): Promise<Passage[]> };
  /** Passages per message. Default 4. */
  k?: number;
  /** The tenant searched when the agent runs outside one. Default `default`. */
  tenant?: string;
}

export interface LlmCognitionOptions<Output> {
  /** `provider/model` looked up in `registry`, or the vendor's model name when `provider` is given. */
  model: string;
  registry?: ModelRegistry;
  provider?: Provider;
  /** The system prompt, fixed or built per agent. */
  system?: string | ((agentId: string) => string);
  tools?: Tool[];
  toolOptions?: ToolRunnerOptions;
  /** Model calls per message, at most. Default 8. */
  maxSteps?: number;
  /** Ends the loop early after a step (e.g. once a given tool was called). */
  stopWhen?: (state: { step: number; toolCalls: readonly ToolCall[]; text: string }) => boolean;
  /** A zod schema the final answer must follow (sent to the model as a JSON Schema). */
  output?: z.ZodType<Output>;
  memory?: ConversationMemoryOptions;
  temperature?: number;
  maxTokens?: number;
  /**
   * A resilience policy for this cognition's model calls (rate limit → breaker → retry →
   * bulkhead → timeout), validated here. Streams get the rate limit and the breaker only.
   */
  resilience?: ResiliencePolicyConfig;
  /** Retrieval: the best passages for each message go into the model's context, with citations. */
  knowledge?: KnowledgeSource;
  /** What the policy's rate limit counts per: each `agent` (default), each `tenant`, or the `model` as a whole. */
  resilienceKey?: 'agent' | 'tenant' | 'model';
  /**
   * Durable runs: every run is checkpointed here (an append per step and around each tool
   * call), survives a crash and can be resumed (`send(input, { run: { id, resume: true } })`);
   * the conversation memory lives here too. Default: none, except that tools needing approval
   * get a store in memory (runs wait for people, but do not survive a restart).
   */
  runs?: RunStore;
  /** The node that runs this cognition's runs (a run resumes on the node that owns it). */
  runOwner?: string;
  /** Milliseconds an approval waits before it expires (the model is told). Default: never. */
  approvalTtlMs?: number;
}

/** The input of one run: a text, or an object with `content`. */
export type LlmInput = string | { content: string };

/** Thrown when the final answer does not follow the `output` schema. */
export class OutputInvalidError extends AgentfleetError<LlmAgentErrorCode> {
  constructor(why: string, text: string) {
    super('LLM_OUTPUT_INVALID', `The model's final answer does not follow the output schema: ${why}`, {
      details: { text: text.slice(0, 500) },
    });
  }
}

const ZERO: Usage = { inputTokens: 0, outputTokens: 0, reported: true };

/**
 * LLM cognition: a tool-calling loop over one model. Each message runs up to `maxSteps`
 * model calls; tool calls in between go through a `ToolRunner` (so bad arguments and failing
 * tools come back to the model, never crash the agent). Use `decide` as an agent's cognition,
 * or `run` to stream the steps.
 */
export class LlmCognition<Output = undefined> {
  readonly #provider: Provider;
  readonly #model: string;
  readonly #options: LlmCognitionOptions<Output>;
  readonly #runner: ToolRunner;
  readonly #memory: ConversationHistory;
  readonly #runs: RunStore | undefined;
  readonly #fallbackRuns: RunStore | undefined;
  readonly #storedMemories = new WeakMap<RunStore, StoredConversationMemory>();
  readonly #owner: string | undefined;
  readonly #approvalTtlMs: number | undefined;
  readonly #responseFormat: ResponseFormat | undefined;
  readonly #maxSteps: number;
  readonly #policy: ResiliencePolicy | undefined;

  constructor(options: LlmCognitionOptions<Output>) {
    if (options.provider !== undefined) {
      this.#provider = options.provider;
      this.#model = options.model;
    } else if (options.registry !== undefined) {
      const resolved = options.registry.resolve(options.model);
      this.#provider = resolved.provider;
      this.#model = resolved.model;
    } else throw new InvalidOptionsError('LLM cognition needs a provider or a registry.');
    this.#maxSteps = options.maxSteps ?? 8;
    if (!Number.isInteger(this.#maxSteps) || this.#maxSteps < 1)
      throw new InvalidOptionsError('maxSteps must be a positive integer.');
    this.#options = options;
    this.#policy =
      options.resilience === undefined
        ? undefined
        : new ResiliencePolicy(`llm:${options.model}`, parseResiliencePolicy(options.resilience));
    this.#runner = new ToolRunner(options.tools ?? [], options.toolOptions);
    this.#runs = options.runs;
    // Tools that need approval need somewhere to wait: the node's store when a message brings
    // it (`send({ run: { store } })`), else one in memory.
    this.#fallbackRuns =
      options.runs === undefined && this.#runner.needsApprovals ? new MemoryRunStore() : undefined;
    this.#owner = options.runOwner;
    this.#approvalTtlMs = options.approvalTtlMs;
    this.#memory =
      options.runs === undefined
        ? new ConversationMemory(options.memory)
        : new StoredConversationMemory(options.runs, options.memory);
    this.#responseFormat =
      options.output === undefined
        ? undefined
        : { type: 'json_schema', name: 'answer', schema: jsonSchemaOf(options.output) };
  }

  /** Tool call counters. */
  toolStats() {
    return this.#runner.stats();
  }

  /** The policy's figures, when this cognition has one. */
  get resilience(): ResiliencePolicy | undefined {
    return this.#policy;
  }

  /**
   * Releases the cognition's resilience policy (its bulkhead, its entry in
   * `resiliencePolicies()`). A cognition that is just dropped releases it too, once collected.
   */
  async close(): Promise<void> {
    await this.#policy?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #policyKey(agentId: string): string {
    const by = this.#options.resilienceKey ?? 'agent';
    if (by === 'model') return `model:${this.#model}`;
    if (by === 'tenant') return `tenant:${currentTenantId() ?? '-'}`;
    return `agent:${currentTenantId() ?? '-'}/${agentId}`;
  }

  /** Where conversations are kept: a `ConversationMemory` in this process, or the run store's. */
  get memory(): ConversationHistory {
    return this.#memory;
  }

  /** The run store, when runs are durable (or wait for approvals). */
  get runs(): RunStore | undefined {
    return this.#runs ?? this.#fallbackRuns;
  }

  /**
   * Forgets the tenant's conversations (called by `runtime.purgeTenant` on tenant deletion).
   * A run store's conversations go with the store's own `purgeTenant`, which the node calls.
   */
  purgeTenant(tenantId: string): { conversations: number } {
    const memory = this.#memory;
    return { conversations: memory instanceof ConversationMemory ? memory.purgeTenant(tenantId) : 0 };
  }

  /** Cognition for `defineAgent`: runs the loop for one message and returns the answer. */
  async decide(
    input: LlmInput,
    ctx: LoopContext & { emit?: (part: AgentStreamPart) => void; observed?: boolean },
  ): Promise<LlmAnswer<Output>> {
    let final: LlmAnswer<Output> | undefined;
    for await (const event of this.#loop(input, ctx, ctx.observed ?? ctx.emit !== undefined)) {
      if (event.type === 'final') final = event.answer as LlmAnswer<Output>;
      else ctx.emit?.(event);
    }
    return final as LlmAnswer<Output>;
  }

  /** Runs the loop for one message, streaming text deltas, tool calls and results, and the final answer. */
  run(input: LlmInput, ctx: LoopContext): AsyncGenerator<AgentEvent> {
    return this.#loop(input, ctx, true);
  }

  async *#loop(input: LlmInput, ctx: LoopContext, streaming: boolean): AsyncGenerator<AgentEvent> {
    const signal = ctx.signal;
    const opened = ctx.run?.resume === true ? await this.#resume(ctx) : await this.#start(input, ctx);
    const { state, run } = opened;
    if (run !== undefined) yield { type: 'run-start', runId: run.id, resumed: ctx.run?.resume === true };
    const system = this.#options.system;
    const systemText = typeof system === 'function' ? system(ctx.agentId) : system;
    const passages = state.passages;
    const prefix: Message[] = [
      ...(systemText === undefined ? [] : [{ role: 'system' as const, content: systemText }]),
      ...(passages === undefined || passages.length === 0
        ? []
        : [{ role: 'system' as const, content: passagesPrompt(passages) }]),
      ...(await this.#memoryFor(ctx).history(ctx.agentId)),
    ];
    const specs = this.#runner.specs;
    let stoppedBy: StopReason = 'max-steps';
    try {
      while (true) {
        if (state.pending.length > 0) {
          const step = state.step;
          const calls = state.pending;
          const outcome = yield* runToolStep(this.#runner, state, run, ctx, this.#approvalTtlMs);
          if (outcome === 'suspended') {
            yield { type: 'final', answer: this.#suspended(state, run as RunCheckpoint, passages) };
            return;
          }
          if (this.#options.stopWhen?.({ step, toolCalls: calls, text: state.text })) {
            stoppedBy = 'stop-condition';
            break;
          }
          continue;
        }
        if (state.step >= this.#maxSteps) break;
        const step = ++state.step;
        yield { type: 'step-start', step };
        const request: GenerateRequest = {
          model: this.#model,
          messages: [...prefix, ...state.turn],
          ...(specs.length > 0 ? { tools: specs } : {}),
          ...(this.#responseFormat === undefined ? {} : { responseFormat: this.#responseFormat }),
          ...(this.#options.temperature === undefined ? {} : { temperature: this.#options.temperature }),
          ...(this.#options.maxTokens === undefined ? {} : { maxTokens: this.#options.maxTokens }),
        };
        let calls: ToolCall[] = [];
        let text = '';
        let usage: Usage = ZERO;
        if (streaming) {
          const events =
            this.#policy === undefined
              ? this.#provider.stream(request, { signal })
              : streamThrough(
                  this.#policy,
                  this.#provider,
                  request,
                  { signal },
                  this.#policyKey(ctx.agentId),
                );
          for await (const event of events) {
            if (event.type === 'text-delta') yield { type: 'text-delta', step, text: event.text };
            else if (event.type === 'error') throw event.error;
            else if (event.type === 'finish') {
              text = event.text;
              calls = event.toolCalls;
              usage = event.usage;
            }
          }
        } else {
          // Nobody watches the deltas: one plain response is cheaper than a stream.
          const result =
            this.#policy === undefined
              ? await this.#provider.generate(request, { signal })
              : await this.#policy.execute((s) => this.#provider.generate(request, { signal: s ?? signal }), {
                  key: this.#policyKey(ctx.agentId),
                  signal,
                });
          text = result.text;
          calls = result.toolCalls;
          usage = result.usage;
        }
        state.usage = addUsage(state.usage, usage);
        state.text = text;
        const message: Message = {
          role: 'assistant',
          content: text,
          ...(calls.length > 0 ? { toolCalls: calls } : {}),
        };
        state.turn.push(message);
        state.pending = calls;
        state.toolCalls += calls.length;
        run?.defer(
          [
            {
              type: 'model-response',
              step,
              message,
              usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens },
            },
          ],
          { step, usage: { inputTokens: state.usage.inputTokens, outputTokens: state.usage.outputTokens } },
        );
        yield { type: 'step-finish', step, usage };
        if (calls.length === 0) {
          stoppedBy = 'answer';
          break;
        }
        for (const call of calls) yield { type: 'tool-call', step, call };
      }
      if (signal.aborted) throw new AbortedError();
      const output = this.#parseOutput(state.text, stoppedBy);
      await this.#memoryFor(ctx).append(ctx.agentId, state.turn, signal);
      const answer: LlmAnswer<unknown> = {
        text: state.text,
        output,
        steps: state.step,
        toolCalls: state.toolCalls,
        usage: state.usage,
        stoppedBy,
      };
      if (passages !== undefined) answer.passages = passages;
      if (run !== undefined) {
        answer.runId = run.id;
        await run.append(
          [{ type: 'finish', text: state.text, steps: state.step, toolCalls: state.toolCalls }],
          {
            status: 'completed',
            finishedAt: Date.now(),
            result: state.text,
          },
        );
      }
      yield { type: 'final', answer };
    } catch (error) {
      if (run !== undefined) await settleFailedRun(run, error, ctx.signal);
      throw error;
    }
  }

  /**
   * Where this message's conversation lives: the cognition's own memory, except that a message
   * bringing the node's run store (a durable agent without a store of its own) keeps it there.
   */
  #memoryFor(ctx: LoopContext): ConversationHistory {
    const store = ctx.run?.store as RunStore | undefined;
    if (this.#runs !== undefined || store === undefined) return this.#memory;
    let memory = this.#storedMemories.get(store);
    if (memory === undefined) {
      memory = new StoredConversationMemory(store, this.#options.memory);
      this.#storedMemories.set(store, memory);
    }
    return memory;
  }

  /** The cognition's own store, else the node's when the message came through its `RunService`. */
  #storeFor(ctx: LoopContext): RunStore | undefined {
    return this.#runs ?? (ctx.run?.store as RunStore | undefined) ?? this.#fallbackRuns;
  }

  /** A new run: retrieval, and with a run store, its record and `start` checkpoint. */
  async #start(input: LlmInput, ctx: LoopContext): Promise<{ state: LoopState; run?: RunCheckpoint }> {
    const content = typeof input === 'string' ? input : input?.content;
    if (typeof content !== 'string')
      throw new InvalidOptionsError('An LLM agent takes a string or { content: string }.');
    const knowledge = this.#options.knowledge;
    const passages =
      knowledge === undefined
        ? undefined
        : await knowledge.base.search(
            currentTenantId() ?? knowledge.tenant ?? 'default',
            content,
            knowledge.k ?? 4,
          );
    const state = newLoopState(content, passages);
    const store = this.#storeFor(ctx);
    if (store === undefined) return { state };
    const owner = this.#owner ?? ctx.run?.owner;
    const now = Date.now();
    const run = await RunCheckpoint.create(
      store,
      {
        id: ctx.run?.id ?? newRunId(),
        tenant: currentTenantId(),
        agentId: ctx.agentId,
        definition: ctx.definition ?? 'llm',
        version: ctx.version ?? '1',
        model: this.#options.model,
        status: 'running',
        step: 0,
        usage: { inputTokens: 0, outputTokens: 0 },
        ...(owner === undefined ? {} : { owner }),
        createdAt: now,
        updatedAt: now,
      },
      {
        type: 'start',
        input: content,
        ...(passages === undefined ? {} : { passages }),
        ...(ctx.config === undefined ? {} : { agentConfig: ctx.config }),
      },
    );
    return { state, run };
  }

  /** An existing run, rebuilt from its checkpoints, marked running again. */
  async #resume(ctx: LoopContext): Promise<{ state: LoopState; run: RunCheckpoint }> {
    const store = this.#storeFor(ctx);
    const owner = this.#owner ?? ctx.run?.owner;
    const runId = ctx.run?.id;
    if (store === undefined || runId === undefined)
      throw new InvalidOptionsError('Resuming a run needs a run store and the run id.');
    const record = await store.get(currentTenantId(), runId);
    if (record === undefined || record.agentId !== ctx.agentId) throw runNotFound(runId);
    if (isFinished(record.status))
      throw new RunsError('RUN_FINISHED', `Run "${runId}" is ${record.status}.`, { details: { runId } });
    const events = await store.events(record.tenant, runId);
    const run = new RunCheckpoint(store, record);
    // The claim: an append at the checkpoint just read, so of two resumers (two workers, two
    // nodes, a retried approval) exactly one goes on; the other gets RUN_CONFLICT.
    await run.append([{ type: 'status', status: 'running' }], {
      status: 'running',
      ...(owner === undefined ? {} : { owner }),
    });
    return { state: foldRun(record, events), run };
  }

  /** The answer of a run that stopped to wait for approvals. */
  #suspended(
    state: LoopState,
    run: RunCheckpoint,
    passages: LlmAnswer<unknown>['passages'],
  ): LlmAnswer<Output> {
    const approvals = [...state.requested.entries()]
      .filter(([callId]) => !state.decisions.has(callId))
      .map(([callId, r]) => ({ approvalId: r.approvalId, callId, kind: r.kind }));
    return {
      text: state.text,
      output: undefined as Output,
      steps: state.step,
      toolCalls: state.toolCalls,
      usage: state.usage,
      stoppedBy: 'awaiting-approval',
      runId: run.id,
      approvals,
      ...(passages === undefined ? {} : { passages }),
    };
  }

  #parseOutput(text: string, stoppedBy: StopReason): Output {
    const schema = this.#options.output;
    if (schema === undefined || stoppedBy !== 'answer') return undefined as Output;
    let value: unknown;
    try {
      value = JSON.parse(stripFences(text));
    } catch {
      throw new OutputInvalidError('it is not JSON', text);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new OutputInvalidError(
        parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
        text,
      );
    return parsed.data;
  }
}

function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    reported: a.reported && b.reported,
  };
}

/** Models often wrap JSON in a Markdown fence. */
function stripFences(text: string): string {
  const match = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text);
  return match?.[1] ?? text;
}

/** Creates LLM cognition for `defineAgent({ decide: llm({...}) })`. */
export function llm<Output = undefined>(options: LlmCognitionOptions<Output>): LlmCognition<Output> {
  return new LlmCognition(options);
}

/** The retrieved passages as a system message, each with the citation the model should use. */
function passagesPrompt(passages: Passage[]): string {
  const lines = passages.map((p) => `[${p.documentId}#${p.chunk}] ${p.text}`);
  return `Passages from the knowledge base. Use them when they help, and cite them as [document#chunk]:\n${lines.join('\n')}`;
}

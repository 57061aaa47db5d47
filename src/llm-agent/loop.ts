import { type Budget, type BudgetGate, type BudgetReservation, budgetSchema } from '../budgets/index.ts';
import { currentTenantId } from '../context/index.ts';
import type { AgentStreamPart } from '../core/index.ts';
import { AbortedError, InvalidOptionsError, parseOptions } from '../errors/index.ts';
import type { Passage } from '../knowledge/index.ts';
import type { GenerateRequest, Message, Provider, ResponseFormat, ToolCall, Usage } from '../llm/index.ts';
import { streamThrough } from '../models/index.ts';
import { parseResiliencePolicy, ResiliencePolicy } from '../resilience/index.ts';
import { MemoryRunStore, type RunStore } from '../runs/index.ts';
import { jsonSchemaOf, ToolRunner } from '../tools/index.ts';
import { decisionDraft, promptHash } from './decision-record.ts';
import type {
  AgentEvent,
  LlmAnswer,
  LlmCognitionOptions,
  LlmInput,
  LoopContext,
  StopReason,
} from './loop-types.ts';
import { OutputInvalidError } from './loop-types.ts';
import { type ConversationHistory, ConversationMemory } from './memory.ts';
import type { RunCheckpoint } from './run-checkpoint.ts';
import { openRun, reopenRun, suspendedAnswer } from './run-lifecycle.ts';
import { type LoopState, newLoopState } from './run-state.ts';
import { runToolStep, settleFailedRun } from './run-tool-step.ts';
import { StoredConversationMemory } from './stored-memory.ts';

const ZERO: Usage = { inputTokens: 0, outputTokens: 0, reported: true };
/** Finished runs between sweeps of a cognition's own in-memory run store. */
const FALLBACK_SWEEP_EVERY = 256;

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
  #finishedSinceSweep = 0;
  readonly #storedMemories = new WeakMap<RunStore, StoredConversationMemory>();
  readonly #owner: string | undefined;
  readonly #approvalTtlMs: number | undefined;
  readonly #responseFormat: ResponseFormat | undefined;
  readonly #maxSteps: number;
  readonly #policy: ResiliencePolicy | undefined;
  readonly #budgets: BudgetGate | undefined;
  readonly #budget: Budget | undefined;
  readonly #priceAs: string;
  /** The last system prompt hashed for provenance, and its hash (most cognitions have one prompt). */
  #promptHash: { system: string | undefined; hash: string } | undefined;

  constructor(options: LlmCognitionOptions<Output>) {
    if (options.provider !== undefined) {
      this.#provider = options.provider;
      this.#model = options.model;
      this.#priceAs = options.priceAs ?? `${options.provider.name}/${options.model}`;
    } else if (options.registry !== undefined) {
      const resolved = options.registry.resolve(options.model);
      this.#provider = resolved.provider;
      this.#model = resolved.model;
      this.#priceAs = options.priceAs ?? options.model;
    } else throw new InvalidOptionsError('LLM cognition needs a provider or a registry.');
    this.#budgets = options.budgets;
    this.#budget =
      options.budget === undefined ? undefined : parseOptions('agent budget', budgetSchema, options.budget);
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
   * Forgets the tenant's conversations, and its runs and approvals in the cognition's own
   * in-memory store (called by `runtime.purgeTenant` on tenant deletion). A store given as
   * `runs` (the node's) is purged by its owner.
   */
  async purgeTenant(tenantId: string): Promise<{ conversations: number; runs: number }> {
    const memory = this.#memory;
    const conversations = memory instanceof ConversationMemory ? memory.purgeTenant(tenantId) : 0;
    const purged = await this.#fallbackRuns?.purgeTenant(tenantId);
    return { conversations, runs: purged?.runs ?? 0 };
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
    const startedAt = performance.now();
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
            this.#recordDecision(ctx, systemText, state, run, startedAt, 'awaiting-approval', undefined);
            yield { type: 'final', answer: suspendedAnswer<Output>(state, run as RunCheckpoint, passages) };
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
        // A budget's reservation (BUDGET_EXCEEDED thrown here), settled below, released if the call fails.
        const reservation: BudgetReservation | undefined = this.#budgets?.reserve({
          agentId: ctx.agentId,
          model: this.#priceAs,
          request,
          budget: this.#budget,
        });
        try {
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
                if (event.modelVersion !== undefined) state.modelVersion = event.modelVersion;
              }
            }
          } else {
            // Nobody watches the deltas: one plain response is cheaper than a stream.
            const result =
              this.#policy === undefined
                ? await this.#provider.generate(request, { signal })
                : await this.#policy.execute(
                    (s) => this.#provider.generate(request, { signal: s ?? signal }),
                    {
                      key: this.#policyKey(ctx.agentId),
                      signal,
                    },
                  );
            text = result.text;
            calls = result.toolCalls;
            usage = result.usage;
            if (result.modelVersion !== undefined) state.modelVersion = result.modelVersion;
          }
          const cost = reservation?.settle(usage);
          if (cost !== undefined) state.cost = (state.cost ?? 0) + cost;
        } finally {
          reservation?.release(); // a no-op once settled
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
      await this.#forgetFinished(run);
      this.#recordDecision(ctx, systemText, state, run, startedAt, stoppedBy, undefined);
      yield { type: 'final', answer };
    } catch (error) {
      this.#recordDecision(ctx, systemText, state, run, startedAt, undefined, error);
      if (run !== undefined) {
        await settleFailedRun(run, error, ctx.signal);
        await this.#forgetFinished(run);
      }
      throw error;
    }
  }

  /** Hands the decision to the provenance sink, when there is one; never throws into the loop. */
  #recordDecision(
    ctx: LoopContext,
    system: string | undefined,
    state: LoopState,
    run: RunCheckpoint | undefined,
    startedAt: number,
    stoppedBy: StopReason | undefined,
    error: unknown,
  ): void {
    const sink = this.#options.provenance;
    if (sink === undefined) return;
    try {
      let prompt = this.#promptHash;
      if (prompt === undefined || prompt.system !== system) {
        prompt = { system, hash: promptHash(system, this.#runner.specs) };
        this.#promptHash = prompt;
      }
      sink.record(
        decisionDraft({
          ctx,
          provider: this.#provider.name,
          model: this.#model,
          modelVersion: state.modelVersion,
          cost: state.cost,
          promptHash: prompt.hash,
          input: state.input,
          passages: state.passages,
          turn: state.turn,
          decisions: state.decisions,
          usage: state.usage,
          steps: state.step,
          startedAt,
          runId: run?.id,
          stoppedBy,
          error,
        }),
      );
    } catch {
      // Provenance never fails a decision; a sink counts what it could not take.
    }
  }

  /**
   * The cognition's own in-memory store has no `RunService` sweeping it: every
   * `FALLBACK_SWEEP_EVERY` finished runs it drops the finished ones (and approvals decided over
   * an hour ago), so it holds the runs that wait, not every run there ever was.
   */
  async #forgetFinished(run: RunCheckpoint | undefined): Promise<void> {
    const store = this.#fallbackRuns;
    if (store === undefined || run?.store !== store || ++this.#finishedSinceSweep < FALLBACK_SWEEP_EVERY)
      return;
    this.#finishedSinceSweep = 0;
    const now = Date.now();
    await store.sweep({
      runsFinishedBefore: now,
      eventsFinishedBefore: now,
      approvalsDecidedBefore: now - 3_600_000,
      limit: 1_000_000,
    });
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
    const run = await openRun(
      store,
      this.#owner ?? ctx.run?.owner,
      this.#options.model,
      ctx,
      content,
      passages,
    );
    return { state, run };
  }

  /** An existing run, rebuilt from its checkpoints and claimed. */
  #resume(ctx: LoopContext): Promise<{ state: LoopState; run: RunCheckpoint }> {
    const store = this.#storeFor(ctx);
    const runId = ctx.run?.id;
    if (store === undefined || runId === undefined)
      throw new InvalidOptionsError('Resuming a run needs a run store and the run id.');
    return reopenRun(store, this.#owner ?? ctx.run?.owner, runId, ctx.agentId);
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

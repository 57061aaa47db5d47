import type { z } from 'zod';
import { currentTenantId } from '../context/index.ts';
import { AbortedError, AgentfleetError, InvalidOptionsError } from '../errors/index.ts';
import type { Passage } from '../knowledge/index.ts';
import type {
  GenerateRequest,
  Message,
  ModelRegistry,
  Provider,
  ResponseFormat,
  ToolCall,
  Usage,
} from '../llm/index.ts';
import {
  parseResiliencePolicy,
  ResiliencePolicy,
  type ResiliencePolicyConfig,
  streamThrough,
} from '../resilience/index.ts';
import {
  jsonSchemaOf,
  type Tool,
  type ToolOutcome,
  ToolRunner,
  type ToolRunnerOptions,
} from '../tools/index.ts';
import { ConversationMemory, type ConversationMemoryOptions } from './memory.ts';

/** What the loop streams to its caller while it runs. */
export type AgentEvent =
  | { type: 'step-start'; step: number }
  | { type: 'text-delta'; step: number; text: string }
  | { type: 'tool-call'; step: number; call: ToolCall }
  | { type: 'tool-result'; step: number; outcome: ToolOutcome }
  | { type: 'step-finish'; step: number; usage: Usage }
  | { type: 'final'; answer: LlmAnswer<unknown> };

/** Why the loop ended. */
export type StopReason = 'answer' | 'max-steps' | 'stop-condition';

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
}

/** The input of one run: a text, or an object with `content`. */
export type LlmInput = string | { content: string };

/** Thrown when the final answer does not follow the `output` schema. */
export class OutputInvalidError extends AgentfleetError {
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
  readonly #memory: ConversationMemory;
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
    this.#memory = new ConversationMemory(options.memory);
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

  get memory(): ConversationMemory {
    return this.#memory;
  }

  /** Forgets the tenant's conversations (called by `runtime.purgeTenant` on tenant deletion). */
  purgeTenant(tenantId: string): { conversations: number } {
    return { conversations: this.#memory.purgeTenant(tenantId) };
  }

  /** Cognition for `defineAgent`: runs the loop for one message and returns the answer. */
  async decide(
    input: LlmInput,
    ctx: { agentId: string; signal: AbortSignal; emit?: (event: AgentEvent) => void; observed?: boolean },
  ): Promise<LlmAnswer<Output>> {
    let final: LlmAnswer<Output> | undefined;
    for await (const event of this.#loop(input, ctx, ctx.observed ?? ctx.emit !== undefined)) {
      if (event.type === 'final') final = event.answer as LlmAnswer<Output>;
      else ctx.emit?.(event);
    }
    return final as LlmAnswer<Output>;
  }

  /** Runs the loop for one message, streaming text deltas, tool calls and results, and the final answer. */
  run(input: LlmInput, ctx: { agentId: string; signal: AbortSignal }): AsyncGenerator<AgentEvent> {
    return this.#loop(input, ctx, true);
  }

  async *#loop(
    input: LlmInput,
    ctx: { agentId: string; signal: AbortSignal },
    streaming: boolean,
  ): AsyncGenerator<AgentEvent> {
    const content = typeof input === 'string' ? input : input?.content;
    if (typeof content !== 'string')
      throw new InvalidOptionsError('An LLM agent takes a string or { content: string }.');
    const signal = ctx.signal;
    const system = this.#options.system;
    const systemText = typeof system === 'function' ? system(ctx.agentId) : system;
    const turn: Message[] = [{ role: 'user', content }];
    const knowledge = this.#options.knowledge;
    const passages =
      knowledge === undefined
        ? undefined
        : await knowledge.base.search(
            currentTenantId() ?? knowledge.tenant ?? 'default',
            content,
            knowledge.k ?? 4,
          );
    const prefix: Message[] = [
      ...(systemText === undefined ? [] : [{ role: 'system' as const, content: systemText }]),
      ...(passages === undefined || passages.length === 0
        ? []
        : [{ role: 'system' as const, content: passagesPrompt(passages) }]),
      ...this.#memory.history(ctx.agentId),
    ];
    const specs = this.#runner.specs;
    let usage = ZERO;
    let toolCalls = 0;
    let text = '';
    let stoppedBy: StopReason = 'max-steps';
    let step = 0;
    while (step < this.#maxSteps) {
      step++;
      yield { type: 'step-start', step };
      const request: GenerateRequest = {
        model: this.#model,
        messages: [...prefix, ...turn],
        ...(specs.length > 0 ? { tools: specs } : {}),
        ...(this.#responseFormat === undefined ? {} : { responseFormat: this.#responseFormat }),
        ...(this.#options.temperature === undefined ? {} : { temperature: this.#options.temperature }),
        ...(this.#options.maxTokens === undefined ? {} : { maxTokens: this.#options.maxTokens }),
      };
      let calls: ToolCall[] = [];
      text = '';
      if (streaming) {
        const events =
          this.#policy === undefined
            ? this.#provider.stream(request, { signal })
            : streamThrough(this.#policy, this.#provider, request, { signal }, this.#policyKey(ctx.agentId));
        for await (const event of events) {
          if (event.type === 'text-delta') yield { type: 'text-delta', step, text: event.text };
          else if (event.type === 'error') throw event.error;
          else if (event.type === 'finish') {
            text = event.text;
            calls = event.toolCalls;
            usage = addUsage(usage, event.usage);
            yield { type: 'step-finish', step, usage: event.usage };
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
        usage = addUsage(usage, result.usage);
        yield { type: 'step-finish', step, usage: result.usage };
      }
      turn.push({ role: 'assistant', content: text, ...(calls.length > 0 ? { toolCalls: calls } : {}) });
      if (calls.length === 0) {
        stoppedBy = 'answer';
        break;
      }
      toolCalls += calls.length;
      for (const call of calls) yield { type: 'tool-call', step, call };
      const outcomes = await this.#runner.run(calls, { signal, agentId: ctx.agentId });
      for (const outcome of outcomes) {
        turn.push(outcome.message);
        yield { type: 'tool-result', step, outcome };
      }
      if (this.#options.stopWhen?.({ step, toolCalls: calls, text })) {
        stoppedBy = 'stop-condition';
        break;
      }
    }
    if (signal.aborted) throw new AbortedError();
    const output = this.#parseOutput(text, stoppedBy);
    await this.#memory.append(ctx.agentId, turn, signal);
    const answer: LlmAnswer<unknown> = { text, output, steps: step, toolCalls, usage, stoppedBy };
    if (passages !== undefined) answer.passages = passages;
    yield { type: 'final', answer };
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

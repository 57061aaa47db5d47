import type { z } from 'zod';
import type { BudgetGate, BudgetInput } from '../budgets/index.ts';
import type { RunRequest } from '../core/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import type { Passage } from '../knowledge/index.ts';
import type { Provider, ToolCall, Usage } from '../llm/index.ts';
import type { ModelRegistry } from '../models/index.ts';
import type { ProvenanceSink } from '../provenance/index.ts';
import type { ResiliencePolicyConfig } from '../resilience/index.ts';
import type { RunStore } from '../runs/index.ts';
import type { Tool, ToolOutcome, ToolRunnerOptions } from '../tools/index.ts';
import type { LlmAgentErrorCode } from './error-codes.ts';
import type { ConversationMemoryOptions } from './memory.ts';

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
  /**
   * Asked before every model call for a reservation (the node's `TokenBudgetGate`, or your own):
   * a call past a budget is refused with `BUDGET_EXCEEDED`; the reservation is settled with the
   * usage the vendor reported, or released when the call fails. Default: none.
   */
  budgets?: BudgetGate;
  /** This agent's own budget (tokens and/or cost per period), checked by `budgets` beside its tenant's. Validated here. */
  budget?: BudgetInput;
  /** The `provider/model` whose price the budget counts. Default: `model` (with a `provider`, `<provider.name>/<model>`). */
  priceAs?: string;
  /**
   * Provenance: a record of each message's decision (answer, suspension or failure) is handed
   * here (a `ProvenanceRecorder` writes them in batches, off the hot path). Default: none.
   */
  provenance?: ProvenanceSink;
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

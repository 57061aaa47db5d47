import { Gauge, type Registry } from 'prom-client';
import {
  type AgentStepEvent,
  agentStepChannel,
  type BudgetEvent,
  budgetChannel,
  type ModelCallEvent,
  type ModelQueueEvent,
  modelCallChannel,
  modelQueueChannel,
  type ResilienceEvent,
  resilienceChannel,
  type ToolCallEvent,
  toolCallChannel,
} from '../../context/index.ts';
import { LabelCap } from './label-cap.ts';
import { CounterFamily, HistogramFamily } from './series-family.ts';

/** Model calls take from tens of milliseconds (cached, tiny) to a minute (long generations). */
export const LLM_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
/** Waiting for a capped provider's slot: from a millisecond to as long as a model call. */
export const LLM_QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
/** Tools range from in-process functions to HTTP calls and subprocesses. */
export const TOOL_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Most agent steps are sub-millisecond; LLM-backed ones take seconds. */
export const STEP_DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Unsubscribes the event metrics from their channels. */
export interface EventMetrics {
  close(): void;
}

/**
 * Subscribes to the model-call, tool-call and agent-step diagnostics channels and counts what
 * they report. Every free-form label (provider, model, tool, definition, error code) goes
 * through a `LabelCap` so a flood of distinct names cannot blow up the series count; series
 * are cached `CounterFamily` / `HistogramFamily` ones, so a step costs no label hashing. A
 * subscriber must never throw (diagnostics_channel would rethrow it as an uncaught
 * exception), so malformed events are ignored.
 */
export function registerEventMetrics(
  registry: Registry,
  prefix: string,
  maxLabelValues: number,
): EventMetrics {
  const cap = () => new LabelCap(maxLabelValues);
  const providers = cap();
  const models = cap();
  const llmOutcomes = cap();
  const tools = cap();
  const toolOutcomes = cap();
  const definitions = cap();
  const policies = cap();
  const budgetModels = cap();

  const circuitState = new Gauge({
    name: `${prefix}circuit_state`,
    help: 'Circuit breaker state by policy: 0 closed, 1 half-open, 2 open.',
    labelNames: ['policy'],
    registers: [registry],
  });
  const circuitTransitions = new CounterFamily({
    name: `${prefix}circuit_transitions_total`,
    help: 'Circuit breaker state changes by policy and the state entered.',
    labelNames: ['policy', 'to'],
    registry,
  });
  const rateLimited = new CounterFamily({
    name: `${prefix}rate_limited_total`,
    help: 'Calls refused by a resilience policy’s rate limit, by policy.',
    labelNames: ['policy'],
    registry,
  });

  const llmRequests = new CounterFamily({
    name: `${prefix}llm_requests_total`,
    help: 'Model calls by provider, model, mode (generate|stream) and outcome (ok or the error code).',
    labelNames: ['provider', 'model', 'mode', 'outcome'],
    registry,
  });
  const llmTokens = new CounterFamily({
    name: `${prefix}llm_tokens_total`,
    help: 'Tokens used by model calls, by provider, model and type (input|output).',
    labelNames: ['provider', 'model', 'type'],
    registry,
  });
  const llmDuration = new HistogramFamily({
    name: `${prefix}llm_request_duration_seconds`,
    help: 'Duration of model calls (to the last streamed chunk for streams), by provider and model.',
    labelNames: ['provider', 'model'],
    buckets: LLM_DURATION_BUCKETS,
    registry,
  });
  const llmQueueWaiting = new Gauge({
    name: `${prefix}llm_queue_waiting`,
    help: 'Model calls waiting for a slot of a capped provider (concurrency), by provider.',
    labelNames: ['provider'],
    registers: [registry],
  });
  const llmQueueWait = new HistogramFamily({
    name: `${prefix}llm_queue_wait_seconds`,
    help: 'How long model calls waited for a slot of a capped provider, by provider (calls that had to wait).',
    labelNames: ['provider'],
    buckets: LLM_QUEUE_WAIT_BUCKETS,
    registry,
  });
  const llmQueueRefused = new CounterFamily({
    name: `${prefix}llm_queue_refused_total`,
    help: 'Model calls refused by a capped provider’s queue, by provider and reason (full|aborted).',
    labelNames: ['provider', 'reason'],
    registry,
  });
  const toolCalls = new CounterFamily({
    name: `${prefix}tool_calls_total`,
    help: 'Tool executions by tool and outcome (ok, TOOL_UNKNOWN, TOOL_ARGUMENTS_INVALID, TOOL_TIMEOUT, TOOL_FAILED).',
    labelNames: ['tool', 'outcome'],
    registry,
  });
  const toolDuration = new HistogramFamily({
    name: `${prefix}tool_call_duration_seconds`,
    help: 'Duration of tool executions, by tool.',
    labelNames: ['tool'],
    buckets: TOOL_DURATION_BUCKETS,
    registry,
  });
  const steps = new CounterFamily({
    name: `${prefix}agent_steps_total`,
    help: 'Agent steps (Perception, Cognition, Action) by agent definition and outcome (ok|error).',
    labelNames: ['definition', 'outcome'],
    registry,
  });
  const stepDuration = new HistogramFamily({
    name: `${prefix}agent_step_duration_seconds`,
    help: 'Duration of agent steps, by agent definition.',
    labelNames: ['definition'],
    buckets: STEP_DURATION_BUCKETS,
    registry,
  });

  const budgetTokens = new CounterFamily({
    name: `${prefix}budget_spent_tokens_total`,
    help: 'Tokens of model calls counted by the budget gate (the usage vendors reported), by model.',
    labelNames: ['model'],
    registry,
  });
  const budgetCost = new CounterFamily({
    name: `${prefix}budget_spent_cost_total`,
    help: 'Cost of model calls counted by the budget gate, in the models config’s price unit, by model.',
    labelNames: ['model'],
    registry,
  });
  const budgetRefused = new CounterFamily({
    name: `${prefix}budget_refused_total`,
    help: 'Model calls refused by a budget (BUDGET_EXCEEDED), by scope (which budget refused) and limit (tokens|cost).',
    labelNames: ['scope', 'limit'],
    registry,
  });

  const onBudget = (message: unknown): void => {
    const e = message as Partial<BudgetEvent> | null;
    if (e === null || typeof e !== 'object') return;
    if (e.kind === 'refused') {
      budgetRefused
        .series(e.scope === 'agent' ? 'agent' : 'tenant', e.limit === 'cost' ? 'cost' : 'tokens')
        .inc();
      return;
    }
    if (e.kind !== 'spent' || !validCount(e.tokens) || !validCount(e.costMicros)) return;
    const model = budgetModels.value(str(e.model));
    budgetTokens.series(model).inc(e.tokens);
    if (e.costMicros > 0) budgetCost.series(model).inc(e.costMicros / 1e6);
  };

  const onModelCall = (message: unknown): void => {
    const e = message as Partial<ModelCallEvent> | null;
    if (e === null || typeof e !== 'object' || !validDuration(e.durationMs)) return;
    const provider = providers.value(str(e.provider));
    const model = models.value(str(e.model));
    const mode = e.mode === 'stream' ? 'stream' : 'generate';
    const outcome = e.errorCode === undefined ? 'ok' : llmOutcomes.value(str(e.errorCode));
    llmRequests.series(provider, model, mode, outcome).inc();
    llmDuration.series(provider, model).observe(e.durationMs / 1000);
    if (validCount(e.inputTokens)) llmTokens.series(provider, model, 'input').inc(e.inputTokens);
    if (validCount(e.outputTokens)) llmTokens.series(provider, model, 'output').inc(e.outputTokens);
  };
  const onModelQueue = (message: unknown): void => {
    const e = message as Partial<ModelQueueEvent> | null;
    if (e === null || typeof e !== 'object' || !validCount(e.waiting)) return;
    const provider = providers.value(str(e.provider));
    llmQueueWaiting.set({ provider }, e.waiting);
    if ((e.kind === 'started' || e.kind === 'aborted') && validDuration(e.waitMs)) {
      llmQueueWait.series(provider).observe(e.waitMs / 1000);
    }
    if (e.kind === 'rejected') llmQueueRefused.series(provider, 'full').inc();
    else if (e.kind === 'aborted') llmQueueRefused.series(provider, 'aborted').inc();
  };
  const onToolCall = (message: unknown): void => {
    const e = message as Partial<ToolCallEvent> | null;
    if (e === null || typeof e !== 'object' || !validDuration(e.durationMs)) return;
    const tool = tools.value(str(e.tool));
    toolCalls.series(tool, toolOutcomes.value(str(e.outcome))).inc();
    toolDuration.series(tool).observe(e.durationMs / 1000);
  };
  const onAgentStep = (message: unknown): void => {
    const e = message as Partial<AgentStepEvent> | null;
    if (e === null || typeof e !== 'object' || !validDuration(e.durationMs)) return;
    const definition = definitions.value(str(e.definition));
    steps.series(definition, e.ok === true ? 'ok' : 'error').inc();
    stepDuration.series(definition).observe(e.durationMs / 1000);
  };

  const onResilience = (message: unknown): void => {
    const e = message as Partial<ResilienceEvent> | null;
    if (e === null || typeof e !== 'object') return;
    const policy = policies.value(str(e.policy));
    if (e.kind === 'rate-limited') rateLimited.series(policy).inc();
    else if (e.kind === 'circuit' && (e.to === 'closed' || e.to === 'half-open' || e.to === 'open')) {
      circuitTransitions.series(policy, e.to).inc();
      circuitState.set({ policy }, e.to === 'closed' ? 0 : e.to === 'half-open' ? 1 : 2);
    }
  };

  resilienceChannel.subscribe(onResilience);
  budgetChannel.subscribe(onBudget);
  modelCallChannel.subscribe(onModelCall);
  modelQueueChannel.subscribe(onModelQueue);
  toolCallChannel.subscribe(onToolCall);
  agentStepChannel.subscribe(onAgentStep);
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      resilienceChannel.unsubscribe(onResilience);
      budgetChannel.unsubscribe(onBudget);
      modelCallChannel.unsubscribe(onModelCall);
      modelQueueChannel.unsubscribe(onModelQueue);
      toolCallChannel.unsubscribe(onToolCall);
      agentStepChannel.unsubscribe(onAgentStep);
    },
  };
}

function validDuration(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0;
}

function validCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

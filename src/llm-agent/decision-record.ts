import { activeTraceparent, currentTenantId } from '../context/index.ts';
import type { Passage } from '../knowledge/index.ts';
import type { Message, ToolSpec, Usage } from '../llm/index.ts';
import { type DecisionDraft, NO_TENANT, type ProvenanceToolCall, sha256 } from '../provenance/index.ts';
import type { LoopContext, StopReason } from './loop-types.ts';
import type { CallDecision } from './run-state.ts';

/** What the loop hands over at the end of a message, to be made a provenance draft. */
export interface DecisionFacts {
  ctx: LoopContext;
  provider: string;
  model: string;
  modelVersion: string | undefined;
  /** What the message's model calls cost (the budget gate's prices); undefined when unpriced. */
  cost: number | undefined;
  promptHash: string;
  input: string;
  passages: readonly Passage[] | undefined;
  turn: readonly Message[];
  decisions: ReadonlyMap<string, CallDecision>;
  usage: Usage;
  steps: number;
  /** `performance.now()` when the message began. */
  startedAt: number;
  runId: string | undefined;
  stoppedBy: StopReason | undefined;
  error: unknown;
}

/** SHA-256 of what the model is told before the conversation: the system prompt and the tool schemas. */
export function promptHash(system: string | undefined, specs: readonly ToolSpec[]): string {
  return sha256(`${system ?? ''}\n${JSON.stringify(specs)}`);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-/;

/** The provenance draft of one decision (the loop's answer, suspension or failure). */
export function decisionDraft(f: DecisionFacts): DecisionDraft {
  const calls: ProvenanceToolCall[] = [];
  const byId = new Map<string, ProvenanceToolCall>();
  for (const message of f.turn) {
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) {
        const decision = f.decisions.get(call.id)?.decision;
        const entry: ProvenanceToolCall = {
          name: call.name,
          argumentsHash: sha256(call.arguments),
          resultHash: null,
          approval: decision ?? null,
          approvedBy: null,
        };
        calls.push(entry);
        byId.set(call.id, entry);
      }
    } else if (message.role === 'tool') {
      const entry = byId.get(message.toolCallId);
      if (entry !== undefined) entry.resultHash = sha256(message.content);
    }
  }
  const trace = TRACEPARENT.exec(activeTraceparent() ?? '');
  const error = f.error as { code?: unknown } | undefined;
  const now = Date.now();
  return {
    tenant: currentTenantId() ?? NO_TENANT,
    id: crypto.randomUUID(),
    at: now,
    agentId: f.ctx.agentId,
    runId: f.runId ?? null,
    definition: f.ctx.definition ?? null,
    specVersion: f.ctx.version ?? null,
    provider: f.provider,
    model: f.model,
    modelVersion: f.modelVersion ?? null,
    promptHash: f.promptHash,
    inputHash: sha256(f.input),
    passages: (f.passages ?? []).map((p) => ({
      documentId: p.documentId,
      chunk: p.chunk,
      documentVersion: null,
      score: p.score,
    })),
    toolCalls: calls,
    inputTokens: f.usage.inputTokens,
    outputTokens: f.usage.outputTokens,
    usageReported: f.usage.reported,
    cost: f.cost ?? null,
    latencyMs: Math.max(0, performance.now() - f.startedAt),
    steps: f.steps,
    stoppedBy: f.error === undefined ? (f.stoppedBy ?? null) : null,
    errorCode:
      f.error === undefined ? null : typeof error?.code === 'string' ? error.code.slice(0, 64) : 'UNKNOWN',
    traceId: trace?.[1] ?? null,
    spanId: trace?.[2] ?? null,
  };
}

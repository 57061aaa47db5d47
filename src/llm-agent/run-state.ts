import type { Passage } from '../knowledge/index.ts';
import type { Message, ToolCall, ToolMessage, Usage } from '../llm/index.ts';
import type { RunEvent, RunRecord } from '../runs/index.ts';

/** A decision recorded in the run for one tool call. */
export interface CallDecision {
  approvalId: string;
  decision: 'approved' | 'rejected' | 'expired';
  arguments?: string;
  reason?: string;
}

/**
 * What the loop knows of a run, rebuilt from its checkpoint log on resume (and kept up to date
 * while it runs): the messages of this run so far, where it is, and the state of each tool
 * call of the last model response.
 */
export interface LoopState {
  input: string;
  passages: Passage[] | undefined;
  /** The run's own messages: the user's input, then assistant and tool messages. */
  turn: Message[];
  step: number;
  usage: Usage;
  toolCalls: number;
  /** The last model response's text. */
  text: string;
  /** Calls of the last model response that have no result yet. */
  pending: ToolCall[];
  /** Of those, the ones recorded as started (since their last decision): a crash came before their result. */
  started: Set<string>;
  /** Approval requested per call id (the approval's id). */
  requested: Map<string, { approvalId: string; kind: 'approval' | 'interrupted' }>;
  decisions: Map<string, CallDecision>;
  /** The model version the vendor reported for the last model call (for provenance; not checkpointed). */
  modelVersion?: string;
  /** What this message's model calls cost, from the budget gate's prices (for provenance; not checkpointed). */
  cost?: number;
}

const ZERO: Usage = { inputTokens: 0, outputTokens: 0, reported: true };

/** A new run's state. */
export function newLoopState(input: string, passages: Passage[] | undefined): LoopState {
  return {
    input,
    passages,
    turn: [{ role: 'user', content: input }],
    step: 0,
    usage: ZERO,
    toolCalls: 0,
    text: '',
    pending: [],
    started: new Set(),
    requested: new Map(),
    decisions: new Map(),
  };
}

/** Rebuilds the loop state of `run` from its events (the first is its `start`). */
export function foldRun(run: RunRecord, events: readonly RunEvent[]): LoopState {
  const first = events[0]?.body;
  const state = newLoopState(
    first?.type === 'start' ? first.input : '',
    first?.type === 'start' ? first.passages : undefined,
  );
  state.usage = { ...run.usage, reported: true };
  for (const { body } of events) {
    switch (body.type) {
      case 'model-response': {
        state.step = body.step;
        state.turn.push(body.message);
        const calls = body.message.role === 'assistant' ? (body.message.toolCalls ?? []) : [];
        state.text = body.message.content;
        state.pending = [...calls];
        state.toolCalls += calls.length;
        state.started.clear();
        state.requested.clear();
        state.decisions.clear();
        break;
      }
      case 'tool-start':
        state.started.add(body.callId);
        break;
      case 'tool-result':
        state.turn.push(body.message);
        state.pending = state.pending.filter((c) => c.id !== body.callId);
        state.started.delete(body.callId);
        break;
      case 'approval-request':
        // A new request (an interrupted retry) supersedes the call's earlier decision.
        state.decisions.delete(body.callId);
        state.requested.set(body.callId, {
          approvalId: body.approvalId,
          kind: body.kind ?? 'approval',
        });
        break;
      case 'approval-decision':
        // The decision supersedes a start before it: only a start after it is an interrupted call.
        state.started.delete(body.callId);
        state.decisions.set(body.callId, {
          approvalId: body.approvalId,
          decision: body.decision,
          ...(body.arguments === undefined ? {} : { arguments: body.arguments }),
          ...(body.reason === undefined ? {} : { reason: body.reason }),
        });
        break;
      default:
        break;
    }
  }
  return state;
}

/** The tool message for a call a person rejected, or whose approval expired: the model is told. */
export function refusedMessage(call: ToolCall, decision: CallDecision): ToolMessage {
  const why =
    decision.decision === 'expired'
      ? 'The approval for this call expired before anyone decided; it was not run.'
      : `A person rejected this call; it was not run.${decision.reason === undefined ? '' : ` Reason: ${decision.reason}`}`;
  return {
    role: 'tool',
    toolCallId: call.id,
    name: call.name,
    content: JSON.stringify({ error: { code: 'TOOL_REJECTED', message: why } }),
    isError: true,
  };
}

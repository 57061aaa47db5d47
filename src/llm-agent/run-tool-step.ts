import { AgentfleetError } from '../errors/index.ts';
import type { ToolCall, ToolMessage } from '../llm/index.ts';
import { type ApprovalRecord, newApprovalId, type RunEventBody, RunsError } from '../runs/index.ts';
import type { ToolOutcome, ToolRunner } from '../tools/index.ts';
import type { AgentEvent, LoopContext } from './loop-types.ts';
import type { RunCheckpoint } from './run-checkpoint.ts';
import { type CallDecision, type LoopState, refusedMessage } from './run-state.ts';

type Verdict =
  | { kind: 'run'; call: ToolCall }
  | { kind: 'refused'; call: ToolCall; decision: CallDecision }
  | { kind: 'request'; call: ToolCall; approvalKind: 'approval' | 'interrupted'; reason?: string }
  | { kind: 'wait'; call: ToolCall };

/**
 * Handles the pending tool calls of the last model response: runs those that may run, tells
 * the model about rejected ones, and asks people about the rest. With a run checkpoint, a
 * call is recorded as started before it runs and its result after, and a call that started
 * before a crash runs again only if its tool is idempotent (else a person decides). Returns
 * `suspended` when some call waits for a decision: the run's status is then awaiting-approval.
 */
export async function* runToolStep(
  runner: ToolRunner,
  state: LoopState,
  run: RunCheckpoint | undefined,
  ctx: LoopContext,
  approvalTtlMs: number | undefined,
): AsyncGenerator<AgentEvent, 'done' | 'suspended'> {
  const step = state.step;
  const verdicts: Verdict[] = [];
  const decided: RunEventBody[] = [];
  for (const call of state.pending) verdicts.push(await verdictOf(runner, state, run, ctx, call, decided));
  const runnable = verdicts.filter((v) => v.kind === 'run').map((v) => v.call);
  const starts: RunEventBody[] = runnable.map((call) => ({
    type: 'tool-start',
    step,
    callId: call.id,
    name: call.name,
  }));
  if (run !== undefined && decided.length + starts.length > 0) await run.append([...decided, ...starts]);
  const outcomes =
    runnable.length === 0 ? [] : await runner.run(runnable, { signal: ctx.signal, agentId: ctx.agentId });
  const results: Array<{ call: ToolCall; message: ToolMessage; outcome?: ToolOutcome }> = [];
  for (const v of verdicts) {
    if (v.kind === 'refused') results.push({ call: v.call, message: refusedMessage(v.call, v.decision) });
  }
  for (const outcome of outcomes) results.push({ call: outcome.call, message: outcome.message, outcome });
  const requests = verdicts.filter((v) => v.kind === 'request');
  const waiting = verdicts.some((v) => v.kind === 'wait') || requests.length > 0;
  const bodies: RunEventBody[] = results.map(({ call, message, outcome }) => ({
    type: 'tool-result',
    step,
    callId: call.id,
    message,
    ...(outcome?.error === undefined ? {} : { error: outcome.error }),
  }));
  const asked: Array<{ approval: ApprovalRecord; call: ToolCall }> = [];
  if (requests.length > 0) {
    if (run === undefined)
      throw new RunsError('RUN_NOT_FOUND', 'A tool call needs approval, but the run has no store.');
    const now = Date.now();
    for (const v of requests) {
      if (v.kind !== 'request') continue;
      const approval: ApprovalRecord = {
        id: newApprovalId(),
        tenant: run.tenant,
        runId: run.id,
        agentId: ctx.agentId,
        callId: v.call.id,
        tool: v.call.name,
        arguments: v.call.arguments,
        ...(v.reason === undefined ? {} : { reason: v.reason }),
        kind: v.approvalKind,
        ...schemaOf(runner, v.call.name),
        status: 'pending',
        requestedAt: now,
        ...(approvalTtlMs === undefined ? {} : { expiresAt: now + approvalTtlMs }),
      };
      await run.store.putApproval(approval);
      asked.push({ approval, call: v.call });
      bodies.push({
        type: 'approval-request',
        step,
        approvalId: approval.id,
        callId: v.call.id,
        name: v.call.name,
        arguments: v.call.arguments,
        ...(v.reason === undefined ? {} : { reason: v.reason }),
        kind: v.approvalKind,
      });
    }
  }
  if (run !== undefined && (bodies.length > 0 || (waiting && run.record.status !== 'awaiting-approval')))
    await run.append(bodies, waiting ? { status: 'awaiting-approval' } : {});
  for (const { call, message, outcome } of results) {
    state.turn.push(message);
    state.pending = state.pending.filter((c) => c.id !== call.id);
    if (outcome !== undefined) yield { type: 'tool-result', step, outcome };
  }
  for (const { approval, call } of asked) {
    state.decisions.delete(call.id); // an interrupted retry's request supersedes the earlier decision
    state.requested.set(call.id, { approvalId: approval.id, kind: approval.kind ?? 'approval' });
    yield {
      type: 'tool-approval-request',
      step,
      approvalId: approval.id,
      runId: approval.runId,
      call,
      kind: approval.kind ?? 'approval',
      ...(approval.reason === undefined ? {} : { reason: approval.reason }),
    };
  }
  return waiting ? 'suspended' : 'done';
}

async function verdictOf(
  runner: ToolRunner,
  state: LoopState,
  run: RunCheckpoint | undefined,
  ctx: LoopContext,
  call: ToolCall,
  decided: RunEventBody[],
): Promise<Verdict> {
  let decision = state.decisions.get(call.id);
  const requested = state.requested.get(call.id);
  if (decision === undefined && requested !== undefined && run !== undefined) {
    decision = await decisionOf(run, requested.approvalId);
    if (decision === undefined) return { kind: 'wait', call };
    state.decisions.set(call.id, decision);
    state.started.delete(call.id); // the start the person was asked about
    decided.push({
      type: 'approval-decision',
      approvalId: decision.approvalId,
      callId: call.id,
      decision: decision.decision,
      ...(decision.arguments === undefined ? {} : { arguments: decision.arguments }),
      ...(decision.reason === undefined ? {} : { reason: decision.reason }),
    });
  }
  const tool = runner.tool(call.name);
  // Started since its last decision (an approval covers one execution): a crash came before its result.
  if (state.started.has(call.id)) {
    const ran = decision?.arguments === undefined ? call : { ...call, arguments: decision.arguments };
    if (tool?.idempotent === true) return { kind: 'run', call: ran };
    return {
      kind: 'request',
      call: ran,
      approvalKind: 'interrupted',
      reason:
        'The call started before the run was interrupted and its result was not recorded; approve to run it again, reject to skip it.',
    };
  }
  if (decision !== undefined) {
    if (decision.decision !== 'approved') return { kind: 'refused', call, decision };
    return {
      kind: 'run',
      call: decision.arguments === undefined ? call : { ...call, arguments: decision.arguments },
    };
  }
  if (tool?.needsApproval === undefined) return { kind: 'run', call };
  const args = parseArguments(tool.parameters, call.arguments);
  if (args === INVALID) return { kind: 'run', call }; // the runner tells the model what is wrong
  const needs =
    typeof tool.needsApproval === 'function'
      ? await tool.needsApproval(args, { agentId: ctx.agentId, callId: call.id })
      : tool.needsApproval;
  if (needs === false) return { kind: 'run', call };
  return {
    kind: 'request',
    call,
    approvalKind: 'approval',
    ...(typeof needs === 'string' ? { reason: needs } : {}),
  };
}

/** The decision on an approval, once made (an approval past its deadline is expired here, once). */
async function decisionOf(run: RunCheckpoint, approvalId: string): Promise<CallDecision | undefined> {
  const store = run.store;
  let approval = await store.getApproval(run.tenant, approvalId);
  if (approval === undefined) return { approvalId, decision: 'expired' };
  if (approval.status === 'pending') {
    if (approval.expiresAt === undefined || approval.expiresAt > Date.now()) return undefined;
    try {
      approval = await store.decideApproval(run.tenant, approvalId, { status: 'expired', at: Date.now() });
    } catch (error) {
      if (!(AgentfleetError.isInstance(error) && error.code === 'APPROVAL_DECIDED')) throw error;
      approval = (await store.getApproval(run.tenant, approvalId)) ?? approval;
    }
  }
  if (approval.status === 'pending') return undefined;
  return {
    approvalId,
    decision: approval.status,
    ...argumentsOf(approval),
    ...(approval.decisionReason === undefined ? {} : { reason: approval.decisionReason }),
  };
}

/** The arguments a decision runs the call with: edited ones, else an interrupted call's (maybe edited before). */
function argumentsOf(approval: ApprovalRecord): { arguments?: string } {
  if (approval.decidedArguments !== undefined) return { arguments: approval.decidedArguments };
  return approval.kind === 'interrupted' ? { arguments: approval.arguments } : {};
}

const INVALID = Symbol('invalid');

function parseArguments(
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown } },
  text: string,
): unknown {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return INVALID;
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : INVALID;
}

function schemaOf(runner: ToolRunner, name: string): { schema?: Record<string, unknown> } {
  const parameters = runner.tool(name)?.spec.parameters;
  return parameters === undefined ? {} : { schema: parameters };
}

/**
 * Records why a run ended in error. An abort leaves it as it is: a cancel is recorded by
 * whoever cancelled, and a run stopped by a shutdown resumes after the restart.
 */
export async function settleFailedRun(
  run: RunCheckpoint,
  error: unknown,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return;
  const described = AgentfleetError.isInstance(error)
    ? { code: error.code, message: error.message }
    : { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
  try {
    await run.append([{ type: 'status', status: 'failed', error: described }], {
      status: 'failed',
      finishedAt: Date.now(),
      error: described,
    });
  } catch {
    // The store is down or another writer moved the run on: the error itself is what the caller needs.
  }
}

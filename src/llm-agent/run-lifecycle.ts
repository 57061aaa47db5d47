import { currentTenantId } from '../context/index.ts';
import type { Passage } from '../knowledge/index.ts';
import { isFinished, newRunId, type RunStore, runFinished, runNotFound } from '../runs/index.ts';
import type { LlmAnswer, LoopContext } from './loop-types.ts';
import { RunCheckpoint } from './run-checkpoint.ts';
import { foldRun, type LoopState } from './run-state.ts';

/** Creates a durable run's record and its `start` checkpoint (input, passages, the agent's config). */
export function openRun(
  store: RunStore,
  owner: string | undefined,
  model: string,
  ctx: LoopContext,
  content: string,
  passages: Passage[] | undefined,
): Promise<RunCheckpoint> {
  const now = Date.now();
  return RunCheckpoint.create(
    store,
    {
      id: ctx.run?.id ?? newRunId(),
      tenant: currentTenantId(),
      agentId: ctx.agentId,
      definition: ctx.definition ?? 'llm',
      version: ctx.version ?? '1',
      model,
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
}

/**
 * Reads run `runId` of `agentId` back, rebuilds its loop state, and claims it with an append at
 * the checkpoint just read, so of two resumers (two workers, two nodes, a retried approval)
 * exactly one goes on; the other gets RUN_CONFLICT.
 * @throws RunsError `RUN_NOT_FOUND` (none, or another agent's), `RUN_FINISHED`.
 */
export async function reopenRun(
  store: RunStore,
  owner: string | undefined,
  runId: string,
  agentId: string,
): Promise<{ state: LoopState; run: RunCheckpoint }> {
  const record = await store.get(currentTenantId(), runId);
  if (record === undefined || record.agentId !== agentId) throw runNotFound(runId);
  if (isFinished(record.status)) throw runFinished(runId, record.status);
  const events = await store.events(record.tenant, runId);
  const run = new RunCheckpoint(store, record);
  await run.append([{ type: 'status', status: 'running' }], {
    status: 'running',
    ...(owner === undefined ? {} : { owner }),
  });
  return { state: foldRun(record, events), run };
}

/** The answer of a run that stopped to wait for approvals: what it waits for, and its figures so far. */
export function suspendedAnswer<Output>(
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

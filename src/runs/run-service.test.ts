import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../../test/helpers.ts';
import { MemoryRunStore } from './memory-run-store.ts';
import { newApprovalId, newRunId } from './run-ids.ts';
import type { RunRecord } from './run-schemas.ts';
import { RunService } from './run-service.ts';

function runRecord(status: RunRecord['status']): RunRecord {
  const now = Date.now();
  return {
    id: newRunId(),
    agentId: 'a1',
    definition: 'support',
    version: '1',
    status,
    step: 1,
    usage: { inputTokens: 0, outputTokens: 0 },
    seq: 1,
    owner: 'n1',
    createdAt: now,
    updatedAt: now,
  };
}

describe('RunService.start', () => {
  it('resumes a run whose approvals were all decided before the node stopped, and leaves waiting ones', async () => {
    const store = new MemoryRunStore();
    const decided = runRecord('awaiting-approval');
    const waiting = runRecord('awaiting-approval');
    const running = runRecord('running');
    for (const run of [decided, waiting, running])
      await store.create(run, [{ seq: 1, at: run.createdAt, body: { type: 'start', input: 'hi' } }]);
    const approval = (runId: string) => ({
      id: newApprovalId(),
      runId,
      agentId: 'a1',
      callId: 'c1',
      tool: 'refund',
      arguments: '{}',
      status: 'pending' as const,
      requestedAt: Date.now(),
    });
    const first = approval(decided.id);
    await store.putApproval(first);
    await store.putApproval(approval(waiting.id));
    // Decided (here, or on another node sharing the store), then the node died before it resumed the run.
    await store.decideApproval(undefined, first.id, { status: 'approved', at: Date.now() });
    const sent: string[] = [];
    const service = new RunService({
      store,
      owner: 'n1',
      host: {
        async send(_target, _input, options) {
          assert.equal(options.resume, true);
          sent.push(options.runId);
        },
      },
    });
    const started = await service.start();
    assert.equal(started.resuming, 2);
    await eventually(() => sent.length === 2);
    assert.deepEqual(new Set(sent), new Set([decided.id, running.id]));
    await service.close();
  });
});

// The behaviour every run store must show. Run by runs/*.test.ts (memory, SQLite) and by the
// PostgreSQL and NATS KV integration tests.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  type ApprovalRecord,
  newApprovalId,
  newRunId,
  type RunEvent,
  type RunRecord,
  type RunStore,
} from '../runs/index.ts';
import { rejectsWithCode } from './assertions.ts';

export interface RunStoreContractOptions {
  /** A new, empty store. */
  open: () => Promise<RunStore>;
  /**
   * Overwrites a stored row with `json` as is (bypassing the store), so the suite can check
   * that corrupt rows are refused. Omit it to skip those cases.
   */
  corrupt?: (
    store: RunStore,
    kind: 'run' | 'approval' | 'conversation',
    tenant: string | undefined,
    key: string,
    json: string,
  ) => Promise<void>;
  skip?: string | undefined;
}

const T0 = 1_800_000_000_000;

/** A run header as the durable loop writes it, `seq` events so far. */
export function sampleRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: newRunId(),
    agentId: 'a1',
    definition: 'assistant',
    version: '1',
    model: 'fake/model',
    status: 'running',
    step: 0,
    usage: { inputTokens: 0, outputTokens: 0 },
    seq: 1,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

const startEvent = (input = 'hello'): RunEvent => ({ seq: 1, at: T0, body: { type: 'start', input } });

function sampleApproval(run: RunRecord, overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: newApprovalId(),
    tenant: run.tenant,
    runId: run.id,
    agentId: run.agentId,
    callId: 'call_1',
    tool: 'refund',
    arguments: '{"amount":500}',
    reason: 'amount over 100',
    status: 'pending',
    requestedAt: T0,
    ...overrides,
  };
}

/**
 * Registers, with `node:test`, the suite every `RunStore` must pass: runs created with their
 * first events and appended to in order (optimistic: a stale writer gets RUN_CONFLICT, a
 * finished run RUN_FINISHED), read back, listed and paged; unfinished runs of every tenant for
 * resume; approvals decided once; conversations; sweeping by TTL; tenant isolation and
 * deletion; corrupt rows refused with RUN_STORE_CORRUPT.
 * @param name shown in the suite's title.
 */
export function runStoreContract(name: string, options: RunStoreContractOptions): void {
  describe(`run store contract: ${name}`, { skip: options.skip }, () => {
    const opened: RunStore[] = [];
    const open = async () => {
      const s = await options.open();
      opened.push(s);
      return s;
    };
    after(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });

    it('creates a run with its first events, appends in order and reads it back', async () => {
      const s = await open();
      const run = sampleRun({ tenant: 'acme' });
      await s.create(run, [startEvent('what is 2+2?')]);
      assert.deepEqual(await s.get('acme', run.id), run);
      const step: RunEvent[] = [
        { seq: 2, at: T0 + 1, body: { type: 'step-start', step: 1 } },
        {
          seq: 3,
          at: T0 + 2,
          body: {
            type: 'model-response',
            step: 1,
            message: {
              role: 'assistant',
              content: '',
              toolCalls: [{ id: 'c1', name: 'add', arguments: '{"a":2,"b":2}' }],
            },
            usage: { inputTokens: 10, outputTokens: 5 },
          },
        },
        { seq: 4, at: T0 + 3, body: { type: 'tool-start', step: 1, callId: 'c1', name: 'add' } },
      ];
      const updated = await s.append('acme', run.id, 1, step, {
        step: 1,
        usage: { inputTokens: 10, outputTokens: 5 },
        updatedAt: T0 + 3,
      });
      assert.equal(updated.seq, 4);
      assert.equal(updated.step, 1);
      assert.deepEqual(await s.get('acme', run.id), updated);
      const events = await s.events('acme', run.id);
      assert.deepEqual(
        events.map((e) => e.seq),
        [1, 2, 3, 4],
      );
      assert.deepEqual(events[2], step[1]);
      assert.deepEqual(
        (await s.events('acme', run.id, 2)).map((e) => e.seq),
        [3, 4],
      );
      assert.deepEqual(
        (await s.events('acme', run.id, 1, 2)).map((e) => e.seq),
        [2, 3],
      );
      assert.deepEqual(await s.events('acme', run.id, 4), []);
    });

    it('refuses a stale append (RUN_CONFLICT), a finished run (RUN_FINISHED), a taken id and an unknown run', async () => {
      const s = await open();
      const run = sampleRun();
      await s.create(run, [startEvent()]);
      await rejectsWithCode(s.create(run, [startEvent()]), 'RUN_EXISTS');
      const next = { seq: 2, at: T0, body: { type: 'step-start' as const, step: 1 } };
      await s.append(undefined, run.id, 1, [next], { updatedAt: T0 });
      await rejectsWithCode(s.append(undefined, run.id, 1, [next], { updatedAt: T0 }), 'RUN_CONFLICT');
      assert.equal((await s.events(undefined, run.id)).length, 2, 'the stale append wrote nothing');
      await s.append(
        undefined,
        run.id,
        2,
        [{ seq: 3, at: T0, body: { type: 'finish', text: '4', steps: 1, toolCalls: 0 } }],
        { status: 'completed', finishedAt: T0 + 5, result: '4', updatedAt: T0 + 5 },
      );
      await rejectsWithCode(
        s.append(undefined, run.id, 3, [{ seq: 4, at: T0, body: { type: 'step-start', step: 2 } }], {
          updatedAt: T0,
        }),
        'RUN_FINISHED',
      );
      await rejectsWithCode(s.append(undefined, newRunId(), 0, [], { updatedAt: T0 }), 'RUN_NOT_FOUND');
      assert.equal((await s.get(undefined, run.id))?.status, 'completed');
    });

    it('keeps tenants apart: another tenant’s run, events, approvals and conversations are not found', async () => {
      const s = await open();
      const run = sampleRun({ tenant: 'acme' });
      await s.create(run, [startEvent()]);
      assert.equal(await s.get('globex', run.id), undefined);
      assert.equal(await s.get(undefined, run.id), undefined);
      assert.deepEqual(await s.events('globex', run.id), []);
      await rejectsWithCode(s.append('globex', run.id, 1, [], { updatedAt: T0 }), 'RUN_NOT_FOUND');
      assert.deepEqual(await s.list('globex'), []);
      const approval = sampleApproval(run);
      await s.putApproval(approval);
      assert.equal(await s.getApproval('globex', approval.id), undefined);
      assert.deepEqual(await s.listApprovals('globex'), []);
      await rejectsWithCode(
        s.decideApproval('globex', approval.id, { status: 'approved', at: T0 }),
        'APPROVAL_NOT_FOUND',
      );
      await s.putConversation('acme', 'a1', { messages: [{ role: 'user', content: 'secret' }] });
      assert.equal(await s.getConversation('globex', 'a1'), undefined);
      assert.equal(await s.getConversation(undefined, 'a1'), undefined);
    });

    it('lists a tenant’s runs newest first, by agent and status, in pages', async () => {
      const s = await open();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const run = sampleRun({ tenant: 'acme', agentId: i % 2 === 0 ? 'even' : 'odd' });
        ids.push(run.id);
        await s.create(run, [startEvent()]);
        await new Promise((r) => setTimeout(r, 2)); // ids are time-ordered by the ms
      }
      const newest = [...ids].reverse();
      assert.deepEqual(
        (await s.list('acme')).map((r) => r.id),
        newest,
      );
      const page1 = await s.list('acme', { limit: 2 });
      const page2 = await s.list('acme', { limit: 2, before: page1.at(-1)?.id });
      assert.deepEqual(
        [...page1, ...page2].map((r) => r.id),
        newest.slice(0, 4),
      );
      assert.deepEqual(
        (await s.list('acme', { agentId: 'even' })).map((r) => r.id),
        [ids[4], ids[2], ids[0]],
      );
      assert.deepEqual(await s.list('acme', { status: 'completed' }), []);
      await rejectsWithCode(s.list('acme', { limit: 0 }), 'INVALID_OPTIONS');
    });

    it('finds the unfinished runs of every tenant, oldest first, by owner, in pages', async () => {
      const s = await open();
      const a = sampleRun({ tenant: 'acme', owner: 'node-1' });
      await s.create(a, [startEvent()]);
      await new Promise((r) => setTimeout(r, 2));
      const b = sampleRun({ owner: 'node-2', status: 'awaiting-approval' });
      await s.create(b, [startEvent()]);
      await new Promise((r) => setTimeout(r, 2));
      const done = sampleRun({ tenant: 'globex', owner: 'node-1' });
      await s.create(done, [startEvent()]);
      await s.append('globex', done.id, 1, [], { status: 'failed', finishedAt: T0, updatedAt: T0 });
      assert.deepEqual(
        (await s.unfinished()).map((r) => r.id),
        [a.id, b.id],
      );
      assert.equal((await s.unfinished())[0]?.tenant, 'acme');
      assert.deepEqual(
        (await s.unfinished({ owner: 'node-2' })).map((r) => r.id),
        [b.id],
      );
      assert.deepEqual(
        (await s.unfinished({ limit: 1, after: a.id })).map((r) => r.id),
        [b.id],
      );
    });

    it('decides an approval once; lists pending ones; finds the due ones of every tenant', async () => {
      const s = await open();
      const run = sampleRun({ tenant: 'acme', status: 'awaiting-approval' });
      await s.create(run, [startEvent()]);
      const first = sampleApproval(run, { expiresAt: T0 + 1_000 });
      await s.putApproval(first);
      await rejectsWithCode(s.putApproval(first), 'RUN_EXISTS');
      await new Promise((r) => setTimeout(r, 2));
      const second = sampleApproval(run, { callId: 'call_2' });
      await s.putApproval(second);
      assert.deepEqual(
        (await s.listApprovals('acme', { status: 'pending' })).map((a) => a.id),
        [first.id, second.id],
      );
      assert.deepEqual(
        (await s.listApprovals('acme', { after: first.id })).map((a) => a.id),
        [second.id],
      );
      assert.deepEqual(
        (await s.dueApprovals(T0 + 1_000)).map((a) => a.id),
        [first.id],
      );
      assert.deepEqual(await s.dueApprovals(T0 + 999), []);
      const decided = await s.decideApproval('acme', first.id, {
        status: 'approved',
        at: T0 + 10,
        arguments: '{"amount":400}',
      });
      assert.equal(decided.status, 'approved');
      assert.equal(decided.decidedArguments, '{"amount":400}');
      assert.deepEqual(await s.getApproval('acme', first.id), decided);
      await rejectsWithCode(
        s.decideApproval('acme', first.id, { status: 'rejected', at: T0 + 11, reason: 'no' }),
        'APPROVAL_DECIDED',
      );
      const races = await Promise.allSettled([
        s.decideApproval('acme', second.id, { status: 'approved', at: T0 }),
        s.decideApproval('acme', second.id, { status: 'rejected', at: T0, reason: 'no' }),
      ]);
      assert.equal(races.filter((r) => r.status === 'fulfilled').length, 1, 'one decision wins');
      assert.deepEqual(
        (await s.listApprovals('acme', { status: 'pending' })).map((a) => a.id),
        [],
      );
      assert.deepEqual(await s.dueApprovals(T0 + 10_000), [], 'decided approvals are not due');
      await rejectsWithCode(
        s.decideApproval('acme', newApprovalId(), { status: 'approved', at: T0 }),
        'APPROVAL_NOT_FOUND',
      );
    });

    it('keeps, replaces and deletes conversations', async () => {
      const s = await open();
      assert.equal(await s.getConversation('acme', 'a1'), undefined);
      await s.putConversation('acme', 'a1', { messages: [{ role: 'user', content: 'hi' }] });
      const next = {
        summary: 'they said hi',
        messages: [
          { role: 'user' as const, content: 'and?' },
          { role: 'assistant' as const, content: '', toolCalls: [{ id: 'c', name: 't', arguments: '{}' }] },
          { role: 'tool' as const, toolCallId: 'c', name: 't', content: '{}', isError: true },
        ],
      };
      await s.putConversation('acme', 'a1', next);
      assert.deepEqual(await s.getConversation('acme', 'a1'), next);
      assert.equal(await s.deleteConversation('acme', 'a1'), true);
      assert.equal(await s.deleteConversation('acme', 'a1'), false);
      assert.equal(await s.getConversation('acme', 'a1'), undefined);
    });

    it('sweeps finished runs past their TTL, older events, and decided approvals, a bounded batch at a time', async () => {
      const s = await open();
      const old = sampleRun();
      const recent = sampleRun();
      const live = sampleRun();
      for (const r of [old, recent, live]) await s.create(r, [startEvent()]);
      await s.append(undefined, old.id, 1, [], { status: 'completed', finishedAt: T0, updatedAt: T0 });
      await s.append(undefined, recent.id, 1, [], {
        status: 'completed',
        finishedAt: T0 + 5_000,
        updatedAt: T0 + 5_000,
      });
      const approval = sampleApproval(live);
      await s.putApproval(approval);
      await s.decideApproval(undefined, approval.id, { status: 'rejected', at: T0, reason: 'no' });
      const swept = await s.sweep({
        runsFinishedBefore: T0 + 1_000,
        eventsFinishedBefore: T0 + 10_000,
        approvalsDecidedBefore: T0 + 1_000,
        limit: 1_000,
      });
      assert.deepEqual(swept, { runs: 1, events: 2, approvals: 1 });
      assert.equal(await s.get(undefined, old.id), undefined);
      assert.equal((await s.get(undefined, recent.id))?.status, 'completed', 'the summary stays');
      assert.deepEqual(await s.events(undefined, recent.id), [], 'its events are gone');
      assert.equal((await s.events(undefined, live.id)).length, 1, 'a live run keeps everything');
      assert.equal(await s.getApproval(undefined, approval.id), undefined);
      const again = await s.sweep({
        runsFinishedBefore: T0 + 1_000,
        eventsFinishedBefore: T0 + 10_000,
        approvalsDecidedBefore: T0 + 1_000,
        limit: 1_000,
      });
      assert.deepEqual(again, { runs: 0, events: 0, approvals: 0 });
    });

    it('deletes everything of a tenant, and nothing of another', async () => {
      const s = await open();
      const mine = sampleRun({ tenant: 'acme' });
      const theirs = sampleRun({ tenant: 'globex' });
      await s.create(mine, [startEvent()]);
      await s.create(theirs, [startEvent()]);
      await s.putApproval(sampleApproval(mine));
      await s.putConversation('acme', 'a1', { messages: [] });
      await s.putConversation('globex', 'a1', { messages: [] });
      assert.deepEqual(await s.purgeTenant('acme'), { runs: 1, approvals: 1, conversations: 1 });
      assert.equal(await s.get('acme', mine.id), undefined);
      assert.deepEqual(await s.events('acme', mine.id), []);
      assert.deepEqual(await s.listApprovals('acme'), []);
      assert.deepEqual(await s.unfinished(), [await s.get('globex', theirs.id)]);
      assert.ok(await s.getConversation('globex', 'a1'));
      assert.deepEqual(await s.purgeTenant('acme'), { runs: 0, approvals: 0, conversations: 0 });
    });

    it('refuses corrupt and foreign rows with RUN_STORE_CORRUPT', {
      skip: options.corrupt === undefined,
    }, async () => {
      const s = await open();
      const corrupt = options.corrupt!;
      const run = sampleRun({ tenant: 'acme' });
      await s.create(run, [startEvent()]);
      await corrupt(s, 'run', 'acme', run.id, '{"id": 42');
      await rejectsWithCode(s.get('acme', run.id), 'RUN_STORE_CORRUPT');
      await rejectsWithCode(s.append('acme', run.id, 1, [], { updatedAt: T0 }), 'RUN_STORE_CORRUPT');
      // A well-formed row of another tenant under this key is foreign.
      await corrupt(s, 'run', 'acme', run.id, JSON.stringify({ ...run, tenant: 'globex' }));
      await rejectsWithCode(s.get('acme', run.id), 'RUN_STORE_CORRUPT');
      const other = sampleRun();
      await s.create(other, [startEvent()]);
      const approval = sampleApproval(other);
      await s.putApproval(approval);
      await corrupt(s, 'approval', undefined, approval.id, JSON.stringify({ ...approval, status: 'maybe' }));
      await rejectsWithCode(s.getApproval(undefined, approval.id), 'RUN_STORE_CORRUPT');
      await rejectsWithCode(
        s.decideApproval(undefined, approval.id, { status: 'approved', at: T0 }),
        'RUN_STORE_CORRUPT',
      );
      await s.putConversation(undefined, 'a1', { messages: [] });
      await corrupt(s, 'conversation', undefined, 'a1', '{"messages":[{"role":"robot"}]}');
      await rejectsWithCode(s.getConversation(undefined, 'a1'), 'RUN_STORE_CORRUPT');
      assert.equal((await s.get(undefined, other.id))?.id, other.id, 'other rows still read');
    });

    it('rejects writes once closed with RUN_STORE_UNAVAILABLE', async () => {
      const s = await options.open();
      await s.close();
      await s.close();
      await rejectsWithCode(s.create(sampleRun(), [startEvent()]), 'RUN_STORE_UNAVAILABLE');
    });
  });
}

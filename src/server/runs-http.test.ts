// Durable runs over HTTP: runs, cancel, approvals and their bad input, tenant isolation, and
// messages to durable agents (a disconnect is not a cancel).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  call,
  type DurableServer,
  openSse,
  type Reply,
  runReaches,
  startDurableServer,
} from '../../test/durable-server.ts';
import { newApprovalId, newRunId, RUN_ID_PATTERN } from '../runs/index.ts';

let server: DurableServer;
const api = (method: string, path: string, body?: unknown, auth = server.alpha) =>
  call(server.base, method, path, auth, body);

before(async () => {
  server = await startDurableServer();
});
after(() => server.close());

/** Sends `input` to alpha's durable `desk` and returns the reply. */
async function message(input: string, auth = server.alpha): Promise<Reply> {
  const reply = await api('POST', '/v1/agents/desk/messages', { input }, auth);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply;
}

function assertError(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, code);
}

describe('messages to a durable agent', () => {
  it('answer with a fresh runId; a run that needs a person is suspended, holding nothing', async () => {
    const reply = await message('refund 500');
    assert.match(reply.body.runId, RUN_ID_PATTERN);
    assert.equal(reply.body.output.runId, reply.body.runId);
    assert.equal(reply.body.output.stoppedBy, 'awaiting-approval');
    assert.equal(reply.body.output.approvals.length, 1);
    const run = await api('GET', `/v1/runs/${reply.body.runId}`);
    assert.equal(run.status, 200);
    assert.equal(run.body.status, 'awaiting-approval');
    assert.equal(run.body.agentId, 'desk');
    assert.equal(server.app.node.runs.active, 0, 'nothing runs while it waits');
  });

  it('stream as SSE whose first part is run-start and whose result carries runId', async () => {
    const stream = await openSse(`${server.base}/v1/agents/desk/messages`, server.alpha, {
      method: 'POST',
      body: { input: 'refund 5' },
    });
    await stream.ended;
    const first = stream.events[0];
    assert.equal(first?.event, 'run-start');
    const last = stream.events.at(-1);
    assert.equal(last?.event, 'result');
    assert.equal(last?.data.runId, first?.data.runId);
    assert.equal(last?.data.output.stoppedBy, 'answer');
    assert.equal((await api('GET', `/v1/runs/${first?.data.runId}`)).body.status, 'completed');
  });

  it('go on when the client disconnects (durable), and are not durable for other agents', async () => {
    const stream = await openSse(`${server.base}/v1/agents/desk/messages`, server.alpha, {
      method: 'POST',
      body: { input: 'wait 0' },
    });
    const start = await stream.until((e) => e.event === 'run-start');
    await stream.until((e) => e.event === 'tool-call');
    stream.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await api('GET', `/v1/runs/${start.data.runId}`)).body.status, 'running');
    server.release();
    const run = await runReaches(server, start.data.runId, 'completed');
    assert.equal(run.result, 'done: released');
    const plain = await api('POST', '/v1/agents/chat/messages', { input: 'hi' });
    assert.equal(plain.status, 200);
    assert.equal(plain.body.runId, undefined, 'a plain LLM agent has no durable run');
    assert.equal(plain.body.output.text, 'echo: hi');
  });
});

describe('GET /v1/agents/:id/runs', () => {
  it('lists the agent’s runs newest first, in pages with a next cursor, filtered by status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await message(`refund ${i + 1}`)).body.runId);
    const first = await api('GET', '/v1/agents/desk/runs?limit=2&status=completed');
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.runs.map((r: { id: string }) => r.id),
      [ids[2], ids[1]],
    );
    assert.equal(first.body.next, ids[1]);
    const second = await api(
      'GET',
      `/v1/agents/desk/runs?limit=2&status=completed&before=${first.body.next}`,
    );
    assert.equal(second.body.runs[0].id, ids[0]);
    for (const r of second.body.runs) assert.equal(r.status, 'completed');
    const theirs = (await message('refund 1', server.beta)).body.runId;
    const all = await api('GET', '/v1/agents/desk/runs?limit=1000');
    assert.equal(all.body.next, null);
    assert.ok(
      !all.body.runs.some((r: { id: string }) => r.id === theirs),
      'not another tenant’s agent of that id',
    );
    const beta = await api('GET', '/v1/agents/desk/runs', undefined, server.beta);
    assert.deepEqual(
      beta.body.runs.map((r: { id: string }) => r.id),
      [theirs],
    );
    assertError(await api('GET', '/v1/agents/desk/runs?status=sleeping'), 400, 'INVALID_REQUEST');
    assertError(await api('GET', '/v1/agents/desk/runs?before=nope'), 400, 'INVALID_REQUEST');
    assertError(await api('GET', '/v1/agents/desk/runs?limit=0'), 400, 'INVALID_REQUEST');
  });
});

describe('POST /v1/approvals/:id', () => {
  it('refuses bad decisions without advancing the run, then approves with edited arguments', async () => {
    const { runId } = (await message('refund 700')).body;
    const listed = await api('GET', '/v1/approvals?status=pending');
    const approval = listed.body.approvals.find((a: { runId: string }) => a.runId === runId);
    assert.equal(approval.agentId, 'desk');
    assert.equal(approval.tool, 'refund');
    assert.deepEqual(approval.arguments, { amount: 700 });
    assert.equal(approval.reason, 'amount 700 is over the 100 limit');
    assert.equal(approval.kind, 'approval');
    assert.ok(approval.ageMs >= 0);
    assert.deepEqual((await api('GET', `/v1/approvals/${approval.id}`)).body.id, approval.id);
    const before = (await api('GET', `/v1/runs/${runId}`)).body;
    const refunds = server.refunds.length;
    const unchanged = async (what: string) => {
      const now = (await api('GET', `/v1/runs/${runId}`)).body;
      assert.equal(now.seq, before.seq, `${what}: the run did not advance`);
      assert.equal(now.status, 'awaiting-approval', what);
      assert.equal((await api('GET', `/v1/approvals/${approval.id}`)).body.status, 'pending', what);
      assert.equal(server.refunds.length, refunds, `${what}: nothing was refunded`);
    };
    const decide = (body: unknown, id = approval.id, auth = server.alpha) =>
      api('POST', `/v1/approvals/${id}`, body, auth);

    assertError(await decide({ approve: true }, newApprovalId()), 404, 'APPROVAL_NOT_FOUND');
    assertError(await decide({ approve: true }, 'nope'), 404, 'APPROVAL_NOT_FOUND');
    await unchanged('unknown id');
    assertError(await decide({ approve: true }, approval.id, server.beta), 404, 'APPROVAL_NOT_FOUND');
    assertError(
      await api('GET', `/v1/approvals/${approval.id}`, undefined, server.beta),
      404,
      'APPROVAL_NOT_FOUND',
    );
    await unchanged('another tenant’s');
    assertError(
      await decide({ approve: true, arguments: { amount: 'lots' } }),
      400,
      'APPROVAL_ARGUMENTS_INVALID',
    );
    await unchanged('arguments failing the schema');
    for (const bad of [
      { approve: 'yes' },
      { approve: false },
      { approve: true, extra: 1 },
      { approve: true, arguments: [1] },
    ])
      assertError(await decide(bad), 400, 'INVALID_REQUEST');
    await unchanged('bad bodies');

    const decided = await decide({
      approve: true,
      arguments: { amount: 70 },
      reason: 'agreed with the customer',
    });
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    assert.equal(decided.body.status, 'approved');
    assert.deepEqual(decided.body.decidedArguments, { amount: 70 });
    const done = await runReaches(server, runId, 'completed');
    assert.match(done.result, /"refunded":70/);
    assert.deepEqual(server.refunds.slice(refunds), [70]);

    assertError(await decide({ approve: false, reason: 'changed my mind' }), 409, 'APPROVAL_DECIDED');
    assert.equal(
      (await api('GET', `/v1/runs/${runId}`)).body.seq,
      done.seq,
      'a late decision does not advance it',
    );
  });

  it('rejects with a reason the model is told, and the tool never runs', async () => {
    const { runId } = (await message('refund 900')).body;
    const [approval] = (await api('GET', `/v1/approvals?status=pending&limit=1000`)).body.approvals.filter(
      (a: { runId: string }) => a.runId === runId,
    );
    const refunds = server.refunds.length;
    const rejected = await api('POST', `/v1/approvals/${approval.id}`, {
      approve: false,
      reason: 'too much',
    });
    assert.equal(rejected.body.status, 'rejected');
    assert.equal(rejected.body.decisionReason, 'too much');
    const done = await runReaches(server, runId, 'completed');
    assert.match(done.result, /TOOL_REJECTED.*too much/);
    assert.equal(server.refunds.length, refunds);
  });

  it('lists in pages, oldest first, and each tenant sees only its own', async () => {
    await message('refund 101');
    await message('refund 102');
    const page = await api('GET', '/v1/approvals?limit=1');
    assert.equal(page.body.approvals.length, 1);
    const next = await api('GET', `/v1/approvals?limit=1000&after=${page.body.next}`);
    assert.ok(
      next.body.approvals.every(
        (a: { requestedAt: number }) => a.requestedAt >= page.body.approvals[0].requestedAt,
      ),
    );
    assert.ok(!next.body.approvals.some((a: { id: string }) => a.id === page.body.next));
    assert.deepEqual(
      (await api('GET', '/v1/approvals?status=all', undefined, server.beta)).body.approvals,
      [],
    );
    assertError(await api('GET', '/v1/approvals?status=maybe'), 400, 'INVALID_REQUEST');
  });
});

describe('POST /v1/runs/:id/cancel', () => {
  it('cancels a waiting run, rejecting what it waits for; a finished run is 409, another tenant’s 404', async () => {
    const { runId } = (await message('refund 300')).body;
    assertError(await api('POST', `/v1/runs/${runId}/cancel`, undefined, server.beta), 404, 'RUN_NOT_FOUND');
    assertError(await api('GET', `/v1/runs/${runId}`, undefined, server.beta), 404, 'RUN_NOT_FOUND');
    assertError(await api('GET', `/v1/runs/${runId}/events`, undefined, server.beta), 404, 'RUN_NOT_FOUND');
    assertError(await api('POST', `/v1/runs/${newRunId()}/cancel`), 404, 'RUN_NOT_FOUND');
    assertError(await api('GET', '/v1/runs/nope'), 404, 'RUN_NOT_FOUND');
    assert.equal(
      (await api('GET', `/v1/runs/${runId}`)).body.status,
      'awaiting-approval',
      'not by another tenant',
    );
    const cancelled = await api('POST', `/v1/runs/${runId}/cancel`, { reason: 'customer left' });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal(cancelled.body.error.message, 'customer left');
    const approvals = await api('GET', '/v1/approvals?status=all&limit=1000');
    const mine = approvals.body.approvals.filter((a: { runId: string }) => a.runId === runId);
    assert.deepEqual(
      mine.map((a: { status: string }) => a.status),
      ['rejected'],
    );
    assertError(await api('POST', `/v1/runs/${runId}/cancel`), 409, 'RUN_FINISHED');
    assertError(await api('POST', `/v1/runs/${runId}/cancel`, { why: 1 }), 400, 'INVALID_REQUEST');
  });
});

// GET /v1/runs/:id/events: stored events with ids, then live ones; Last-Event-ID resumes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  call,
  type DurableServer,
  openSse,
  type Reply,
  startDurableServer,
} from '../../test/durable-server.ts';

let server: DurableServer;
const api = (method: string, path: string, body?: unknown, auth = server.alpha, headers = {}) =>
  call(server.base, method, path, auth, body, headers);

function assertError(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error.code, code);
}

/** A run of alpha's `desk` suspended for one approval: its id, approval id and last seq. */
async function suspended(): Promise<{ runId: string; approvalId: string; seq: number }> {
  const reply = await api('POST', '/v1/agents/desk/messages', { input: 'refund 500' });
  const runId = reply.body.runId as string;
  const run = (await api('GET', `/v1/runs/${runId}`)).body;
  return { runId, approvalId: reply.body.output.approvals[0].approvalId, seq: run.seq };
}

for (const runs of ['memory', 'sqlite'] as const)
  describe(`GET /v1/runs/:id/events (runs in ${runs})`, () => {
    before(async () => {
      server = await startDurableServer({ runs });
    });
    after(() => server.close());

    it('replays stored events with ids, streams the rest live, and ends when the run finishes', async () => {
      const { runId, approvalId, seq } = await suspended();
      const stream = await openSse(`${server.base}/v1/runs/${runId}/events`, server.alpha);
      await stream.until((e) => e.id === seq);
      const replayed = stream.events.slice();
      assert.deepEqual(
        replayed.map((e) => e.id),
        Array.from({ length: seq }, (_, i) => i + 1),
        'every stored event, in order, each with its seq as id',
      );
      assert.equal(replayed[0]?.event, 'start');
      assert.equal(replayed[0]?.data.body.input, 'refund 500');
      const request = replayed.find((e) => e.event === 'approval-request');
      assert.equal(request?.data.body.approvalId, approvalId);
      assert.equal(request?.data.seq, request?.id);

      const decided = await api('POST', `/v1/approvals/${approvalId}`, { approve: true });
      assert.equal(decided.status, 200);
      await stream.ended;
      const stored = stream.events.filter((e) => e.id !== undefined);
      assert.deepEqual(
        stored.map((e) => e.id),
        Array.from({ length: stored.length }, (_, i) => i + 1),
        'no gap and no repeat',
      );
      assert.equal(stored.at(-1)?.event, 'finish');
      const live = stream.events.filter((e) => e.id === undefined).map((e) => e.event);
      assert.ok(live.includes('run-start'), `live parts without ids: ${live}`);
      assert.ok(live.includes('tool-result'));
      const run = (await api('GET', `/v1/runs/${runId}`)).body;
      assert.equal(run.status, 'completed');
      assert.equal(stored.at(-1)?.id, run.seq);

      // A reconnect gets the stored events after the one it names, then the end.
      const again = await openSse(`${server.base}/v1/runs/${runId}/events`, server.alpha, {
        headers: { 'last-event-id': '3' },
      });
      await again.ended;
      assert.deepEqual(
        again.events.map((e) => e.id),
        stored.slice(3).map((e) => e.id),
      );
      assert.deepEqual(
        again.events.map((e) => e.data),
        stored.slice(3).map((e) => e.data),
      );
      const caughtUp = await openSse(`${server.base}/v1/runs/${runId}/events?after=${run.seq}`, server.alpha);
      await caughtUp.ended;
      assert.deepEqual(caughtUp.events, [], 'nothing after the last event of a finished run');
      // The header wins over ?after= (a browser reconnects to the same URL with a newer id).
      const both = await openSse(`${server.base}/v1/runs/${runId}/events?after=1`, server.alpha, {
        headers: { 'last-event-id': String(run.seq - 1) },
      });
      await both.ended;
      assert.deepEqual(
        both.events.map((e) => e.id),
        [run.seq],
      );
    });

    it('refuses an event id that is not the run’s, and another tenant’s run', async () => {
      const { runId, seq } = await suspended();
      for (const id of ['abc', '-1', '1.5', '', String(seq + 1), '99999999999999999999']) {
        const reply = await api('GET', `/v1/runs/${runId}/events`, undefined, server.alpha, {
          'last-event-id': id,
        });
        assertError(reply, 400, 'EVENT_ID_INVALID');
      }
      assertError(await api('GET', `/v1/runs/${runId}/events?after=${seq + 5}`), 400, 'EVENT_ID_INVALID');
      assertError(await api('GET', `/v1/runs/${runId}/events?since=1`), 400, 'INVALID_REQUEST');
      assertError(await api('GET', `/v1/runs/${runId}/events`, undefined, server.beta), 404, 'RUN_NOT_FOUND');
      assert.equal((await api('GET', `/v1/runs/${runId}`)).body.seq, seq, 'no bad request advanced the run');
    });

    it('reads the store for events written elsewhere (another node), and ends with the run', async () => {
      const { runId, seq } = await suspended();
      const stream = await openSse(`${server.base}/v1/runs/${runId}/events?after=${seq}`, server.alpha);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(stream.events.length, 0, 'caught up, waiting');
      // Written past the node's RunService, as another node sharing the store would.
      const now = Date.now();
      const error = { code: 'RUN_CANCELLED', message: 'cancelled elsewhere' };
      await server.app.node.runs.store.inner.append(
        'alpha',
        runId,
        seq,
        [{ seq: seq + 1, at: now, body: { type: 'status', status: 'cancelled', error } }],
        { status: 'cancelled', finishedAt: now, error, updatedAt: now },
      );
      const started = Date.now();
      await stream.ended;
      assert.ok(Date.now() - started < 2_000, 'within a poll or two');
      assert.deepEqual(
        stream.events.map((e) => [e.id, e.event, e.data.body.status]),
        [[seq + 1, 'status', 'cancelled']],
      );
    });

    it('keeps a waiting run’s stream open until the client leaves, holding nothing after', async () => {
      const { runId, seq } = await suspended();
      const stream = await openSse(`${server.base}/v1/runs/${runId}/events`, server.alpha);
      await stream.until((e) => e.id === seq);
      const inFlight = server.app.server.inFlight;
      stream.close();
      const deadline = Date.now() + 2_000;
      while (server.app.server.inFlight >= inFlight && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(server.app.server.inFlight < inFlight, 'the request ended with its client');
    });
  });

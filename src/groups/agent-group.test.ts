import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  eventually,
  liveResources,
  noMoreResourcesThan,
  rejectsWithCode,
  seededRandom,
  sleep,
} from '../../test/helpers.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { createRuntime, defineAgent, type Runtime } from '../core/index.ts';
import { AgentGroup } from './index.ts';

/** A message the test worker handles: `id` is recorded, `until` holds the step, `ms` delays it. */
interface Job {
  id: number;
  until?: Promise<unknown>;
  ms?: number;
}

/** A worker definition that records which replica handled each message id, and as which tenant. */
function recorder() {
  const byId = new Map<number, string[]>();
  const tenants = new Set<string | undefined>();
  const definition = defineAgent({
    name: 'worker',
    decide: async (job: Job, ctx) => {
      if (job.until !== undefined) await job.until;
      if (job.ms !== undefined) await sleep(job.ms);
      else await Promise.resolve();
      const seen = byId.get(job.id) ?? [];
      seen.push(ctx.agentId);
      byId.set(job.id, seen);
      tenants.add(currentTenantId());
      return job.id;
    },
  });
  const perReplica = () => {
    const counts: Record<string, number> = {};
    for (const handlers of byId.values()) for (const id of handlers) counts[id] = (counts[id] ?? 0) + 1;
    return counts;
  };
  return { definition, byId, tenants, perReplica };
}

async function withRuntime(t: { after(fn: () => unknown): void }): Promise<Runtime> {
  const runtime = createRuntime();
  t.after(() => runtime.close());
  return runtime;
}

describe('AgentGroup', () => {
  it('spreads load across replicas: least-loaded first, ties in turn', async (t) => {
    const runtime = await withRuntime(t);
    const { definition, perReplica } = recorder();
    const group = await AgentGroup.open({ runtime, id: 'pool-a', definition, replicas: 3 });
    t.after(() => group.close());
    assert.deepEqual(
      group.replicas().map((r) => [r.id, r.state, r.inRotation]),
      [
        ['pool-a.r0', 'running', true],
        ['pool-a.r1', 'running', true],
        ['pool-a.r2', 'running', true],
      ],
    );
    // Sequential sends (all idle each time): round-robin.
    for (let id = 0; id < 12; id++) assert.equal(await group.send({ id }), id);
    assert.deepEqual(perReplica(), { 'pool-a.r0': 4, 'pool-a.r1': 4, 'pool-a.r2': 4 });

    // Held messages: each goes to the least-loaded replica, so 9 land 3, 3, 3.
    const gate = Promise.withResolvers<void>();
    const held = Array.from({ length: 9 }, (_, k) => group.send({ id: 100 + k, until: gate.promise }));
    assert.deepEqual(
      group.replicas().map((r) => r.inFlight + r.queued),
      [3, 3, 3],
    );
    // One replica drains faster: the next message goes to it, not in turn.
    gate.resolve();
    await Promise.all(held);
    const slow = Promise.withResolvers<void>();
    const a = group.send({ id: 200, until: slow.promise });
    const b = group.send({ id: 201, until: slow.promise });
    const loads = group.replicas().map((r) => r.inFlight + r.queued);
    assert.equal(loads.filter((n) => n === 1).length, 2, `two replicas busy: ${loads}`);
    const idle = group.replicas().find((r) => r.inFlight + r.queued === 0)!;
    const c = group.send({ id: 202 });
    assert.equal(await c, 202);
    slow.resolve();
    await Promise.all([a, b]);
    assert.equal(perReplica()[idle.id], 4 + 3 + 1, 'the idle replica took the unheld message');
  });

  it('scales up under load: new replicas start before they take messages, then share the load', async (t) => {
    const runtime = await withRuntime(t);
    const { definition, byId } = recorder();
    const group = await AgentGroup.open({ runtime, id: 'up', definition, replicas: 1 });
    t.after(() => group.close());
    const gate = Promise.withResolvers<void>();
    const early = Array.from({ length: 5 }, (_, k) => group.send({ id: k, until: gate.promise }));
    assert.equal(group.replicas()[0]!.queued + group.replicas()[0]!.inFlight, 5);
    await group.scale(3);
    assert.equal(group.size, 3);
    assert.deepEqual(
      group.replicas().map((r) => [r.id, r.state]),
      [
        ['up.r0', 'running'],
        ['up.r1', 'running'],
        ['up.r2', 'running'],
      ],
    );
    const late = Array.from({ length: 4 }, (_, k) => group.send({ id: 10 + k, until: gate.promise }));
    assert.deepEqual(
      group.replicas().map((r) => r.inFlight + r.queued),
      [5, 2, 2],
      'new messages go to the new, idle replicas',
    );
    gate.resolve();
    assert.deepEqual(await Promise.all([...early, ...late]), [0, 1, 2, 3, 4, 10, 11, 12, 13]);
    for (const k of [0, 1, 2, 3, 4]) assert.deepEqual(byId.get(k), ['up.r0']);
    assert.deepEqual(new Set([10, 11, 12, 13].map((k) => byId.get(k)![0])), new Set(['up.r1', 'up.r2']));
  });

  it('scales down under load with a concurrent sender: no message lost, none handled twice', async (t) => {
    const runtime = await withRuntime(t);
    const { definition, byId } = recorder();
    const group = await AgentGroup.open({
      runtime,
      id: 'down',
      definition,
      replicas: 6,
      drainTimeoutMs: 30_000,
    });
    t.after(() => group.close());
    const random = seededRandom(7);
    const TOTAL = 3_000;
    const sends: Promise<number>[] = [];
    let sent = 0;
    let outstanding = 0;
    const settle = () => {
      outstanding--;
    };
    const sender = (async () => {
      while (sent < TOTAL) {
        for (let k = 0; k < 20 && sent < TOTAL; k++) {
          const id = sent++;
          outstanding++;
          const reply = group.send<number>({ id, ms: random() < 0.05 ? 1 : undefined });
          reply.then(settle, settle);
          sends.push(reply);
        }
        // At most ~200 messages outstanding, so one replica's mailbox never fills.
        while (outstanding > 200) await new Promise(setImmediate);
        await new Promise(setImmediate);
      }
    })();
    const sizes: number[] = [];
    let heldByLeaving = 0;
    for (const n of [2, 5, 1, 4, 1, 3, 3]) {
      await eventually(() => sent >= (sizes.length + 1) * (TOTAL / 10));
      const before = group.size;
      const scaled = group.scale(n);
      if (n < before) {
        for (const r of group.replicas()) if (r.index >= n) heldByLeaving += r.inFlight + r.queued;
        // Out of rotation before the drain ends: sends meanwhile go to the replicas that stay.
        await eventually(() => group.size === n);
        const leaving = new Set(
          group
            .replicas()
            .filter((r) => !r.inRotation)
            .map((r) => r.id),
        );
        const mark = sent;
        await scaled;
        for (let id = mark; id < sent; id++) {
          const handlers = byId.get(id) ?? [];
          assert.ok(!handlers.some((h) => leaving.has(h)), `message ${id} went to a draining replica`);
        }
      }
      await scaled;
      sizes.push(group.size);
      assert.equal(group.replicas().length, n, 'the drained replicas are gone');
    }
    await sender;
    const outcomes = await Promise.allSettled(sends);
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    assert.deepEqual(rejected, [], 'every send resolved');
    assert.deepEqual(
      outcomes.map((o) => (o as PromiseFulfilledResult<number>).value),
      Array.from({ length: TOTAL }, (_, i) => i),
    );
    assert.equal(byId.size, TOTAL, 'every message was handled');
    const twice = [...byId].filter(([, handlers]) => handlers.length !== 1);
    assert.deepEqual(twice, [], 'no message was handled twice');
    assert.deepEqual(sizes, [2, 5, 1, 4, 1, 3, 3]);
    assert.ok(heldByLeaving > 0, 'replicas were retired while holding accepted messages');
    // After the last scale-down, sends keep working.
    assert.equal(await group.send({ id: TOTAL }), TOTAL);
    assert.equal(runtime.size, 3, 'the runtime holds only the replicas in rotation');
  });

  it('scaling to the same size is a no-op', async (t) => {
    const runtime = await withRuntime(t);
    const { definition } = recorder();
    const group = await AgentGroup.open({ runtime, id: 'same', definition, replicas: 2 });
    t.after(() => group.close());
    const before = runtime.stats();
    const agents = [runtime.get('same.r0'), runtime.get('same.r1')];
    await group.scale(2);
    assert.equal(group.size, 2);
    assert.deepEqual([runtime.get('same.r0'), runtime.get('same.r1')], agents);
    assert.equal(runtime.stats().created, before.created);
    assert.deepEqual(runtime.stats().transitions, before.transitions);
  });

  it('rejects bad sizes and options with typed errors, creating nothing', async (t) => {
    const runtime = await withRuntime(t);
    const { definition } = recorder();
    const group = await AgentGroup.open({ runtime, id: 'bad', definition, maxReplicas: 4 });
    t.after(() => group.close());
    for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 5, '2' as unknown as number]) {
      const error = await rejectsWithCode(group.scale(n), 'GROUP_SIZE_INVALID');
      assert.equal(error.details?.max, 4);
    }
    assert.equal(group.size, 1);
    const invalid = [
      { runtime: {} as Runtime, id: 'x', definition },
      { runtime, id: 'has/slash', definition },
      { runtime, id: 'x'.repeat(121), definition },
      { runtime, id: 'x', definition: { name: 'fake' } as unknown as typeof definition },
      { runtime, id: 'x', definition, replicas: 0 },
      { runtime, id: 'x', definition, maxReplicas: 10_001 },
      { runtime, id: 'x', definition, drainTimeoutMs: -1 },
    ];
    for (const options of invalid) await rejectsWithCode(AgentGroup.open(options), 'INVALID_OPTIONS');
    await rejectsWithCode(
      AgentGroup.open({ runtime, id: 'x', definition, replicas: 3, maxReplicas: 2 }),
      'GROUP_SIZE_INVALID',
    );
    await rejectsWithCode(
      AgentGroup.open({ runtime, id: 'x', definition: 'no-such' }),
      'DEFINITION_NOT_FOUND',
    );
    // A replica id already taken: the replicas made so far are removed again.
    await runtime.spawn(definition, { id: 'taken.r2' });
    const sizeBefore = runtime.size;
    await rejectsWithCode(AgentGroup.open({ runtime, id: 'taken', definition, replicas: 4 }), 'AGENT_EXISTS');
    assert.equal(runtime.size, sizeBefore);
    assert.equal(runtime.get('taken.r0'), undefined);
  });

  it('a replica that fails to start fails the whole scale-up, and the group keeps its size', async (t) => {
    const runtime = await withRuntime(t);
    let starts = 0;
    const flaky = defineAgent({
      name: 'flaky',
      onStart: () => {
        if (++starts === 3) throw new Error('no room');
      },
      decide: (n: number) => n,
    });
    const group = await AgentGroup.open({ runtime, id: 'flaky', definition: flaky, replicas: 1 });
    t.after(() => group.close());
    await rejectsWithCode(group.scale(4), 'AGENT_START_FAILED');
    assert.equal(group.size, 1);
    assert.equal(runtime.size, 1, 'the replicas started for the failed scale-up were removed');
    assert.equal(await group.send(5), 5);
    await group.scale(3);
    assert.equal(group.size, 3);
  });

  it('a scale abandoned by its signal changes nothing', async (t) => {
    const runtime = await withRuntime(t);
    const { definition } = recorder();
    const group = await AgentGroup.open({ runtime, id: 'abort', definition, replicas: 2 });
    t.after(() => group.close());
    const controller = new AbortController();
    controller.abort(new Error('changed my mind'));
    await rejectsWithCode(group.scale(5, controller.signal), 'ABORTED');
    // Aborted while waiting behind another scale.
    const later = new AbortController();
    const first = group.scale(4);
    const second = group.scale(1, later.signal);
    later.abort();
    await first;
    await rejectsWithCode(second, 'ABORTED');
    assert.equal(group.size, 4);
  });

  it('skips replicas that are not running, and says so when none is', async (t) => {
    const runtime = await withRuntime(t);
    const { definition } = recorder();
    const group = await AgentGroup.open({ runtime, id: 'broken', definition, replicas: 2 });
    t.after(() => group.close());
    runtime.get('broken.r0')!.fail(new Error('crashed'));
    for (let id = 0; id < 4; id++) assert.equal(await group.send({ id }), id);
    assert.equal(group.replicas()[1]!.handled, 4);
    runtime.get('broken.r1')!.fail(new Error('crashed too'));
    await rejectsWithCode(group.send({ id: 9 }), 'GROUP_UNAVAILABLE');
  });

  it('close drains, removes every replica and leaves no timer behind', async () => {
    const baseline = liveResources();
    const runtime = createRuntime();
    const { definition, byId } = recorder();
    const group = await AgentGroup.open({ runtime, id: 'closing', definition, replicas: 3 });
    const pending = Array.from({ length: 30 }, (_, id) => group.send({ id, ms: 1 }));
    const closed = group.close();
    assert.equal(group.closed, true);
    await rejectsWithCode(group.send({ id: 99 }), 'GROUP_CLOSED');
    await rejectsWithCode(group.scale(2), 'GROUP_CLOSED');
    await closed;
    assert.equal(await group.close(), undefined, 'idempotent');
    assert.equal((await Promise.all(pending)).length, 30, 'accepted messages finished');
    assert.equal(byId.size, 30);
    assert.equal(runtime.size, 0);
    assert.deepEqual(group.replicas(), []);
    await runtime.close();
    await noMoreResourcesThan(baseline);
  });

  it("lives in its tenant: replicas are the tenant's, sends run as it, other tenants cannot see or use it", async (t) => {
    const runtime = await withRuntime(t);
    const { definition, tenants } = recorder();
    const group = await withTenant('acme', () =>
      AgentGroup.open({ runtime, id: 'team', definition, replicas: 2 }),
    );
    t.after(() => group.close());
    assert.equal(group.tenant, 'acme');
    assert.deepEqual(
      group.replicas().map((r) => r.tenant),
      ['acme', 'acme'],
    );
    // Sent from outside any tenant (system work, an autoscaler), it still runs as acme.
    assert.equal(await group.send({ id: 1 }), 1);
    assert.equal(await withTenant('acme', () => group.send({ id: 2 })), 2);
    assert.deepEqual([...tenants], ['acme']);
    await withTenant('globex', async () => {
      assert.equal(runtime.get('team.r0'), undefined);
      assert.deepEqual(runtime.list(), []);
      await rejectsWithCode(runtime.send('team.r0', { id: 3 }), 'AGENT_NOT_FOUND');
      await rejectsWithCode(group.send({ id: 3 }), 'GROUP_TENANT_MISMATCH');
      await rejectsWithCode(group.scale(1), 'GROUP_TENANT_MISMATCH');
    });
    assert.equal(runtime.get('team.r0'), undefined, 'not an agent without a tenant either');
    // globex may have its own group of the same id.
    const theirs = await withTenant('globex', () =>
      AgentGroup.open({ runtime, id: 'team', definition, replicas: 1 }),
    );
    t.after(() => theirs.close());
    await group.scale(3);
    assert.equal(
      withTenant('acme', () => runtime.list().length),
      3,
    );
    assert.equal(
      withTenant('globex', () => runtime.list().length),
      1,
    );
    assert.equal(runtime.tenantUsage('acme').agents, 3);
  });
});

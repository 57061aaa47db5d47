import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { z } from 'zod';
import { eventually, liveResources, rejectsWithCode, sleep, throwsWithCode } from '../../test/helpers.ts';
import { defineAgent } from './agent-definition.ts';
import type { TransitionEvent } from './lifecycle.ts';
import { createRuntime, type Runtime } from './runtime.ts';

const doubler = defineAgent({
  name: 'doubler',
  input: z.object({ n: z.number() }),
  perceive: (input: { n: number }) => input.n,
  decide: (n: number) => n * 2,
  act: (d: number) => ({ result: d }),
});

let runtime: Runtime;
afterEach(async () => {
  await runtime?.close({ timeoutMs: 200 });
});

describe('runtime: messages', () => {
  it('runs Perception → Cognition → Action for a message', async () => {
    runtime = createRuntime();
    const agent = await runtime.spawn(doubler);
    assert.deepEqual(await agent.send({ n: 21 }), { result: 42 });
    assert.deepEqual(await runtime.send(agent.agentId, { n: 1 }), { result: 2 });
    assert.equal(agent.info().handled, 2);
  });

  it('awaits async stages and hands every stage the same step context', async () => {
    runtime = createRuntime();
    const seen: unknown[] = [];
    const def = defineAgent({
      name: 'async',
      config: z.object({ greeting: z.string() }),
      memory: () => ({ calls: 0 }),
      perceive: async (s: string, ctx) => {
        seen.push(ctx);
        await sleep(1);
        return s.toUpperCase();
      },
      decide: async (s: string, ctx) => {
        seen.push(ctx);
        ctx.memory.calls++;
        return `${ctx.config.greeting} ${s}`;
      },
      act: (s: string, ctx) => {
        seen.push(ctx);
        return `${s} #${ctx.memory.calls} from ${ctx.agentId}`;
      },
    });
    const agent = await runtime.spawn(def, { id: 'greeter', config: { greeting: 'hello' } });
    assert.equal(await agent.send('bob'), 'hello BOB #1 from greeter');
    assert.equal(await agent.send('amy'), 'hello AMY #2 from greeter');
    assert.equal(seen[0], seen[1]);
    assert.equal(seen[1], seen[2]);
  });

  it('handles messages one at a time, in order, by default', async () => {
    runtime = createRuntime();
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const def = defineAgent({
      name: 'serial',
      decide: async (n: number) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(Math.random() * 2);
        order.push(n);
        active--;
        return n;
      },
    });
    const agent = await runtime.spawn(def);
    const sent = Array.from({ length: 50 }, (_, i) => agent.send(i));
    assert.deepEqual(await Promise.all(sent), [...Array(50).keys()]);
    assert.deepEqual(order, [...Array(50).keys()]);
    assert.equal(maxActive, 1);
  });

  it('drains a long mailbox of synchronous steps without deep recursion', async () => {
    runtime = createRuntime();
    const gate = Promise.withResolvers<void>();
    const def = defineAgent({
      name: 'sync-after-gate',
      mailboxCapacity: 100_000,
      decide: (n: number) => (n === 0 ? gate.promise.then(() => 0) : n),
    });
    const agent = await runtime.spawn(def);
    const sent = Array.from({ length: 50_000 }, (_, i) => agent.send(i));
    assert.equal(agent.info().queued, 49_999);
    gate.resolve();
    const results = await Promise.all(sent);
    assert.equal(results.length, 50_000);
    assert.ok(results.every((r, i) => r === i));
    assert.equal(runtime.stats().pool.running, 0);
  });

  it('handles up to `concurrency` messages at once', async () => {
    runtime = createRuntime();
    let active = 0;
    let maxActive = 0;
    const def = defineAgent({
      name: 'parallel',
      concurrency: 4,
      decide: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(2);
        active--;
      },
    });
    const agent = await runtime.spawn(def);
    await Promise.all(Array.from({ length: 40 }, () => agent.send(undefined)));
    assert.equal(maxActive, 4);
  });

  it('rejects messages to unknown, pending and stopped agents with typed errors', async () => {
    runtime = createRuntime();
    await rejectsWithCode(runtime.send('nobody', {}), 'AGENT_NOT_FOUND');
    const agent = runtime.create(doubler);
    const pending = await rejectsWithCode(agent.send({ n: 1 }), 'AGENT_NOT_RUNNING');
    assert.equal(pending.details?.state, 'pending');
    await agent.start();
    await agent.stop();
    await rejectsWithCode(agent.send({ n: 1 }), 'AGENT_NOT_RUNNING');
  });

  it('rejects invalid input without touching the agent', async () => {
    runtime = createRuntime();
    const agent = await runtime.spawn(doubler);
    const error = await rejectsWithCode(agent.send({ n: 'two' } as never), 'INVALID_INPUT');
    assert.match(error.message, /n:/);
    assert.deepEqual(await agent.send({ n: 2 }), { result: 4 });
    assert.equal(agent.info().failedMessages, 0);
  });

  it('wraps a throwing step as AGENT_STEP_FAILED and keeps the agent running', async () => {
    runtime = createRuntime();
    const boom = new Error('boom');
    const def = defineAgent({
      name: 'flaky',
      decide: (n: number) => {
        if (n < 0) throw boom;
        return n;
      },
    });
    const agent = await runtime.spawn(def);
    const error = await rejectsWithCode(agent.send(-1), 'AGENT_STEP_FAILED');
    assert.equal(error.cause, boom);
    assert.equal(await agent.send(3), 3);
    assert.equal(agent.state, 'running');
    assert.equal(agent.info().failedMessages, 1);
  });

  it('fails the agent on a throwing step when onStepError is "fail", rejecting queued messages', async () => {
    runtime = createRuntime();
    let cleaned = 0;
    const def = defineAgent({
      name: 'fragile',
      onStepError: 'fail',
      decide: async (n: number) => {
        await sleep(1);
        if (n === 0) throw new Error('crash');
        return n;
      },
      onStop: () => {
        cleaned++;
      },
    });
    const agent = await runtime.spawn(def);
    const first = agent.send(0);
    const queued = agent.send(1);
    await rejectsWithCode(first, 'AGENT_STEP_FAILED');
    await rejectsWithCode(queued, 'AGENT_STOPPED');
    assert.equal(agent.state, 'failed');
    assert.equal(agent.info().error?.message, 'crash');
    await eventually(() => cleaned === 1);
  });

  it('rejects with MAILBOX_FULL when the mailbox is full, and loses nothing accepted', async () => {
    runtime = createRuntime();
    const gate = Promise.withResolvers<void>();
    const def = defineAgent({
      name: 'slow',
      mailboxCapacity: 2,
      decide: async (n: number) => {
        await gate.promise;
        return n;
      },
    });
    const agent = await runtime.spawn(def);
    const accepted = [agent.send(1), agent.send(2), agent.send(3)]; // 1 in flight, 2 queued
    await rejectsWithCode(agent.send(4), 'MAILBOX_FULL');
    gate.resolve();
    assert.deepEqual(await Promise.all(accepted), [1, 2, 3]);
  });

  it('drops a queued message whose sender aborts, and removes its listener', async () => {
    runtime = createRuntime();
    const gate = Promise.withResolvers<void>();
    const def = defineAgent({
      name: 'gated',
      decide: async (n: number) => {
        await gate.promise;
        return n;
      },
    });
    const agent = await runtime.spawn(def);
    const first = agent.send(1);
    const controller = new AbortController();
    const second = agent.send(2, { signal: controller.signal });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    controller.abort(new Error('client went away'));
    await rejectsWithCode(second, 'ABORTED');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    assert.equal(agent.info().queued, 0);
    gate.resolve();
    assert.equal(await first, 1);
  });

  it('drops a message waiting in the pool queue when its sender aborts: it never runs, its slot is freed', async () => {
    runtime = createRuntime({ pool: { capacity: 1, queueLimit: 1 } });
    const gate = Promise.withResolvers<void>();
    const blocker = await runtime.spawn(defineAgent({ name: 'blocker', decide: () => gate.promise }));
    let ran = 0;
    const queued = await runtime.spawn(
      defineAgent({
        name: 'queued',
        decide: (n: number) => {
          ran++;
          return n;
        },
      }),
    );
    const held = blocker.send(0);
    const controller = new AbortController();
    const sent = queued.send(1, { signal: controller.signal });
    assert.deepEqual(
      [runtime.stats().pool.queued, queued.info().inFlight],
      [1, 1],
      'waits in the pool queue',
    );
    controller.abort(new Error('client went away'));
    const { pool } = runtime.stats();
    assert.deepEqual([pool.queued, pool.aborted], [0, 1], 'the pool slot is freed at once and counted');
    const error = await rejectsWithCode(sent, 'ABORTED');
    assert.equal((error.cause as Error).message, 'client went away');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    assert.equal(queued.info().inFlight, 0);
    const next = queued.send(2); // takes the freed queue slot
    assert.equal(runtime.stats().pool.queued, 1);
    gate.resolve();
    await held;
    assert.equal(await next, 2);
    assert.equal(ran, 1, 'the abandoned message never ran');
  });

  it('passes the sender signal to a running step', async () => {
    runtime = createRuntime();
    const running = Promise.withResolvers<void>();
    const def = defineAgent({
      name: 'waiter',
      decide: (_: unknown, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          running.resolve();
        }),
    });
    const agent = await runtime.spawn(def);
    const controller = new AbortController();
    const sent = agent.send(1, { signal: controller.signal });
    await running.promise;
    controller.abort(new Error('gone'));
    const error = await rejectsWithCode(sent, 'AGENT_STEP_FAILED');
    assert.equal((error.cause as Error).message, 'gone');
  });

  it('rejects an already-aborted send at once', async () => {
    runtime = createRuntime();
    const agent = await runtime.spawn(doubler);
    await rejectsWithCode(agent.send({ n: 1 }, { signal: AbortSignal.abort() }), 'ABORTED');
  });

  it('passes POOL_OVERLOADED through when the pool rejects', async () => {
    runtime = createRuntime({ pool: { capacity: 1, queueLimit: 0, whenFull: 'reject' } });
    const gate = Promise.withResolvers<void>();
    const def = defineAgent({ name: 'busy', concurrency: 10, decide: async () => gate.promise });
    const agent = await runtime.spawn(def);
    const first = agent.send(1);
    await rejectsWithCode(agent.send(2), 'POOL_OVERLOADED');
    gate.resolve();
    await first;
    assert.equal(agent.info().inFlight, 0);
  });
});

describe('runtime: lifecycle', () => {
  it('moves pending → running → stopping → stopped, publishing and counting each transition', async () => {
    runtime = createRuntime();
    const events: TransitionEvent[] = [];
    runtime.events.on('transition', (e) => events.push(e));
    const def = defineAgent({ name: 'life', decide: () => 1, onStop: async () => sleep(1) });
    const agent = runtime.create(def, { id: 'life-1' });
    assert.equal(agent.state, 'pending');
    await agent.start();
    assert.equal(runtime.stats().agents.running, 1);
    const result = await agent.stop();
    assert.deepEqual(result, { state: 'stopped', forced: false });
    assert.deepEqual(
      events.map((e) => `${e.from}->${e.to}`),
      ['pending->running', 'running->stopping', 'stopping->stopped'],
    );
    assert.ok(events.every((e) => e.agentId === 'life-1' && e.definition === 'life' && e.at > 0));
    const stats = runtime.stats();
    assert.deepEqual(stats.agents, { pending: 0, running: 0, stopping: 0, stopped: 1, failed: 0 });
    assert.deepEqual(stats.transitions, { pending: 1, running: 1, stopping: 1, stopped: 1, failed: 0 });
  });

  it('makes start idempotent and shares a concurrent start', async () => {
    runtime = createRuntime();
    let starts = 0;
    const def = defineAgent({
      name: 'once',
      decide: () => 1,
      onStart: async () => {
        starts++;
        await sleep(2);
      },
    });
    const agent = runtime.create(def);
    const a = agent.start();
    const b = agent.start();
    assert.equal(a, b);
    await a;
    await agent.start();
    assert.equal(starts, 1);
  });

  it('rejects bad stop options with INVALID_OPTIONS (a rejected promise, never a throw) and stops nothing', async () => {
    runtime = createRuntime();
    const agent = await runtime.spawn(doubler, { id: 'picky' });
    for (const bad of [
      { timeoutMs: -1 },
      { timeoutMs: Number.NaN },
      { timeoutMs: '5' },
      { drain: 'yes' },
      null,
    ]) {
      let stopping: Promise<unknown> | undefined;
      assert.doesNotThrow(
        () => {
          stopping = agent.stop(bad as never);
        },
        `stop(${JSON.stringify(bad)}) threw`,
      );
      await rejectsWithCode(stopping!, 'INVALID_OPTIONS');
      await rejectsWithCode(runtime.remove('picky', bad as never), 'INVALID_OPTIONS');
      await rejectsWithCode(runtime.close(bad as never), 'INVALID_OPTIONS');
    }
    assert.equal(agent.state, 'running');
    assert.equal(runtime.closed, false);
    assert.deepEqual(await agent.send({ n: 1 }), { result: 2 });
    assert.deepEqual(await agent.stop({ timeoutMs: 10, drain: true }), { state: 'stopped', forced: false });
  });

  it('refuses to restart a stopped agent with ILLEGAL_TRANSITION', async () => {
    runtime = createRuntime();
    const agent = await runtime.spawn(doubler);
    await agent.stop();
    const error = await rejectsWithCode(agent.start(), 'ILLEGAL_TRANSITION');
    assert.deepEqual(error.details, { agentId: agent.agentId, from: 'stopped', to: 'running' });
  });

  it('stops a pending agent without running hooks', async () => {
    runtime = createRuntime();
    let hooks = 0;
    const def = defineAgent({
      name: 'never',
      decide: () => 1,
      onStart: () => void hooks++,
      onStop: () => void hooks++,
    });
    const agent = runtime.create(def);
    assert.deepEqual(await agent.stop(), { state: 'stopped', forced: false });
    assert.equal(hooks, 0);
  });

  it('fails the agent when onStart throws', async () => {
    runtime = createRuntime();
    const def = defineAgent({
      name: 'broken',
      decide: () => 1,
      onStart: () => {
        throw new Error('no database');
      },
    });
    const error = await rejectsWithCode(runtime.spawn(def, { id: 'b' }), 'AGENT_START_FAILED');
    assert.match(error.message, /no database/);
    const agent = runtime.agent('b');
    assert.equal(agent.state, 'failed');
    assert.deepEqual(await agent.stop(), { state: 'failed', forced: false, error: agent.error });
    assert.equal(runtime.stats().agents.failed, 1);
  });

  it('aborts the run signal on stop and waits for in-flight messages', async () => {
    runtime = createRuntime();
    const running = Promise.withResolvers<void>();
    const def = defineAgent({
      name: 'cooperative',
      decide: async (_: unknown, ctx) => {
        const aborted = new Promise((resolve) =>
          ctx.signal.addEventListener('abort', resolve, { once: true }),
        );
        running.resolve();
        await aborted;
        await sleep(2);
        return 'finished after abort';
      },
    });
    const agent = await runtime.spawn(def);
    const inFlight = agent.send(1);
    await running.promise;
    const result = await agent.stop({ timeoutMs: 1_000 });
    assert.deepEqual(result, { state: 'stopped', forced: false });
    assert.equal(await inFlight, 'finished after abort');
    assert.equal(agent.signal.aborted, true);
  });

  it('forces a stop at the deadline, rejects the stuck message and reports it', async () => {
    runtime = createRuntime();
    const events: TransitionEvent[] = [];
    runtime.events.on('transition', (e) => events.push(e));
    const stuck = Promise.withResolvers<void>();
    const def = defineAgent({ name: 'stubborn', decide: () => stuck.promise });
    const agent = await runtime.spawn(def);
    const inFlight = agent.send(1);
    const result = await agent.stop({ timeoutMs: 30 });
    assert.deepEqual(result, { state: 'stopped', forced: true });
    const error = await rejectsWithCode(inFlight, 'AGENT_STOPPED');
    assert.equal(error.details?.forced, true);
    assert.equal(events.at(-1)?.forced, true);
    assert.equal(runtime.stats().forcedStops, 1);
    // The step finishing late must not disturb anything: wait until its pool slot is back.
    assert.equal(runtime.stats().pool.running, 1, 'the stuck step still holds its slot');
    const transitions = events.length;
    stuck.resolve();
    await runtime.pool.onIdle();
    assert.equal(runtime.stats().pool.completed, 1, 'the late step has finished');
    assert.equal(agent.state, 'stopped');
    assert.equal(events.length, transitions);
    assert.deepEqual([agent.info().handled, agent.info().failedMessages, agent.info().inFlight], [0, 0, 0]);
  });

  it('forces a stop when onStop hangs, and reports a failing onStop', async () => {
    runtime = createRuntime();
    const hang = defineAgent({ name: 'hang', decide: () => 1, onStop: () => new Promise<void>(() => {}) });
    const throws = defineAgent({
      name: 'throws',
      decide: () => 1,
      onStop: () => {
        throw new Error('cleanup broke');
      },
    });
    const a = await runtime.spawn(hang);
    const b = await runtime.spawn(throws);
    assert.deepEqual(await a.stop({ timeoutMs: 10 }), { state: 'stopped', forced: true });
    const result = await b.stop();
    assert.equal(result.state, 'failed');
    assert.equal((result.error as Error).message, 'cleanup broke');
  });

  it('rejects queued messages on stop, or handles them with drain', async () => {
    runtime = createRuntime();
    const def = defineAgent({
      name: 'queue',
      decide: async (n: number) => {
        await sleep(1);
        return n;
      },
    });
    const plain = await runtime.spawn(def);
    const p = [plain.send(1), plain.send(2), plain.send(3)];
    const outcomes = Promise.allSettled(p);
    await plain.stop();
    await outcomes;
    assert.equal(await p[0], 1);
    await rejectsWithCode(p[1]!, 'AGENT_STOPPED');
    await rejectsWithCode(p[2]!, 'AGENT_STOPPED');

    const draining = await runtime.spawn(def);
    const d = [draining.send(1), draining.send(2), draining.send(3)];
    const result = await draining.stop({ drain: true });
    assert.deepEqual(await Promise.all(d), [1, 2, 3]);
    assert.equal(result.forced, false);
  });

  it('stops an agent that is still starting once its start settles', async () => {
    runtime = createRuntime();
    const def = defineAgent({
      name: 'slow-start',
      decide: () => 1,
      onStart: (ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
    });
    const agent = runtime.create(def);
    const started = agent.start();
    const stopped = agent.stop();
    await started;
    assert.deepEqual(await stopped, { state: 'stopped', forced: false });
    await rejectsWithCode(agent.start(), 'ILLEGAL_TRANSITION');
  });

  it('forces a stop when onStart ignores the signal', async () => {
    runtime = createRuntime();
    const never = Promise.withResolvers<void>();
    const def = defineAgent({ name: 'deaf-start', decide: () => 1, onStart: () => never.promise });
    const agent = runtime.create(def);
    const started = agent.start();
    assert.deepEqual(await agent.stop({ timeoutMs: 10 }), { state: 'stopped', forced: true });
    never.resolve();
    await rejectsWithCode(started, 'AGENT_STOPPED');
    assert.equal(agent.state, 'stopped');
  });

  it('fails an agent whose background work reports a crash', async () => {
    runtime = createRuntime();
    let cleanups = 0;
    const def = defineAgent({
      name: 'background',
      decide: () => 1,
      onStart: (ctx) => {
        setTimeout(() => ctx.fail(new Error('sensor lost')), 1);
      },
      onStop: () => void cleanups++,
    });
    const agent = await runtime.spawn(def);
    await eventually(() => agent.state === 'failed');
    assert.equal((agent.error as Error).message, 'sensor lost');
    assert.equal(agent.signal.aborted, true);
    await eventually(() => cleanups === 1);
  });

  it('survives random races of start, stop, send and crashes across many agents', async () => {
    runtime = createRuntime({ stopTimeoutMs: 20 });
    const def = defineAgent({
      name: 'chaos',
      concurrency: 2,
      onStepError: 'fail',
      onStart: async () => {
        if (Math.random() < 0.2) await sleep(1);
        if (Math.random() < 0.05) throw new Error('start crash');
      },
      decide: async (n: number, ctx) => {
        if (Math.random() < 0.3) await sleep(Math.random() * 3);
        if (n % 17 === 0) throw new Error('step crash');
        if (n % 23 === 0) ctx.fail(new Error('reported crash'));
        return n;
      },
      onStop: async () => {
        if (Math.random() < 0.2) await sleep(Math.random() * 40);
      },
    });
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const agent = runtime.create(def);
      for (let j = 0; j < 8; j++) {
        const roll = Math.random();
        if (roll < 0.3) ops.push(agent.start());
        else if (roll < 0.5) ops.push(agent.stop({ drain: Math.random() < 0.5 }));
        else ops.push(agent.send(i * 8 + j));
        if (Math.random() < 0.3) ops.push(sleep(0));
      }
    }
    const settled = await Promise.allSettled(ops);
    for (const outcome of settled) {
      if (outcome.status === 'rejected') {
        assert.ok(
          typeof (outcome.reason as { code?: unknown }).code === 'string',
          `untyped rejection: ${String(outcome.reason)}`,
        );
      }
    }
    await Promise.all(runtime.list({ limit: 1_000 }).map((a) => runtime.agent(a.id).stop()));
    const stats = runtime.stats();
    assert.equal(stats.agents.stopped + stats.agents.failed, 300);
    assert.equal(stats.agents.pending + stats.agents.running + stats.agents.stopping, 0);
    for (const info of runtime.list({ limit: 1_000 })) {
      assert.equal(info.inFlight, 0);
      assert.equal(info.queued, 0);
    }
  });
});

describe('runtime: registry', () => {
  it('registers definitions and creates agents by name', async () => {
    runtime = createRuntime();
    runtime.register(doubler);
    runtime.register(doubler);
    assert.deepEqual(
      runtime.definitions().map((d) => d.name),
      ['doubler'],
    );
    const agent = await runtime.spawn('doubler', { id: 'd1' });
    assert.equal(runtime.get('d1'), agent);
    throwsWithCode(() => runtime.create('nope'), 'DEFINITION_NOT_FOUND');
    throwsWithCode(
      () => runtime.register(defineAgent({ name: 'doubler', decide: () => 0 })),
      'DEFINITION_EXISTS',
    );
    throwsWithCode(() => runtime.create('doubler', { id: 'd1' }), 'AGENT_EXISTS');
    throwsWithCode(() => runtime.create('doubler', { id: '../etc' }), 'INVALID_INPUT');
  });

  it('validates per-agent config', () => {
    runtime = createRuntime();
    const def = defineAgent({
      name: 'configured',
      config: z.object({ limit: z.number().positive() }),
      decide: () => 1,
    });
    throwsWithCode(() => runtime.create(def, { config: { limit: -1 } }), 'INVALID_INPUT');
    assert.equal(runtime.create(def, { config: { limit: 3 } }).config.limit, 3);
  });

  it('lists with filters and paging, and removes agents', async () => {
    runtime = createRuntime();
    for (let i = 0; i < 5; i++) await runtime.spawn(doubler, { id: `a${i}` });
    await runtime.agent('a1').stop();
    assert.deepEqual(
      runtime.list({ state: 'running' }).map((a) => a.id),
      ['a0', 'a2', 'a3', 'a4'],
    );
    assert.deepEqual(
      runtime.list({ limit: 2, offset: 1 }).map((a) => a.id),
      ['a1', 'a2'],
    );
    assert.deepEqual(await runtime.remove('a2'), { state: 'stopped', forced: false });
    assert.equal(runtime.get('a2'), undefined);
    assert.equal(runtime.size, 4);
    assert.equal(runtime.stats().agents.stopped, 1);
    assert.equal(await runtime.remove('missing'), undefined);
  });

  it('rejects bad runtime options', () => {
    throwsWithCode(() => createRuntime({ stopTimeoutMs: -5 }), 'INVALID_OPTIONS');
    throwsWithCode(() => createRuntime({ pool: { capacity: 0 } }), 'INVALID_OPTIONS');
  });
});

describe('runtime: close', () => {
  it('stops every agent, removes listeners and leaves no timers', async () => {
    const before = liveResources();
    runtime = createRuntime({ stopTimeoutMs: 50 });
    runtime.events.on('transition', () => {});
    const stuck = defineAgent({ name: 'stuck', decide: () => new Promise(() => {}) });
    const fine = defineAgent({ name: 'fine', decide: async () => sleep(1), onStop: async () => sleep(1) });
    for (let i = 0; i < 10; i++) await runtime.spawn(fine);
    const stuckAgent = await runtime.spawn(stuck);
    const lost = stuckAgent.send(1);
    const result = await runtime.close();
    assert.deepEqual(result, { stopped: 11, forced: 1 });
    await rejectsWithCode(lost, 'AGENT_STOPPED');
    assert.equal(runtime.events.listenerCount('transition'), 0);
    assert.equal(runtime.stats().agents.stopped, 11);
    throwsWithCode(() => runtime.create(fine), 'RUNTIME_CLOSED');
    await rejectsWithCode(runtime.spawn(fine), 'RUNTIME_CLOSED');
    const after = liveResources();
    assert.ok((after.Timeout ?? 0) <= (before.Timeout ?? 0), `timers left: ${JSON.stringify(after)}`);
    assert.equal(runtime.close(), runtime.close(), 'close is idempotent');
  });
});

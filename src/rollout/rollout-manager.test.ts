// The rollout engine with an injected clock, a fake target and rounds run by hand (the timer is
// set far off): steps advance on holds and passing gates, regressions roll back in one round,
// checks, operator calls, bad input, bounded history, and two nodes on one store with leases.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { MemoryLeaseStore } from '../cluster/index.ts';
import { rejectsWithCode } from '../testing/index.ts';
import {
  type CheckInput,
  MemoryRolloutStore,
  type RolloutDecision,
  RolloutManager,
  type RolloutManagerOptions,
  type RolloutRecord,
  type RolloutSplit,
  type RolloutStore,
  type RolloutTarget,
} from './index.ts';

/** The agents' versions and a router's splits, per `tenant/definition`. */
class FakeTarget implements RolloutTarget {
  readonly versions = new Map<string, string[]>([['acme/helper', ['A', 'B']]]);
  readonly current = new Map<string, string>([['acme/helper', 'A']]);
  readonly splits = new Map<string, RolloutSplit | undefined>();
  readonly calls: string[] = [];
  hasVersion(t: string, d: string, v: string): boolean {
    return this.versions.get(`${t}/${d}`)?.includes(v) ?? false;
  }
  currentVersion(t: string, d: string): string | undefined {
    return this.current.get(`${t}/${d}`);
  }
  setSplit(t: string, d: string, split: RolloutSplit | undefined): void {
    this.splits.set(`${t}/${d}`, split);
    this.calls.push(split === undefined ? 'split none' : `split ${split.from}→${split.to} ${split.percent}%`);
  }
  async promote(t: string, d: string, v: string): Promise<void> {
    this.current.set(`${t}/${d}`, v);
    this.calls.push(`promote ${v}`);
  }
}

interface Rig {
  manager: RolloutManager;
  target: FakeTarget;
  store: RolloutStore;
  decisions: RolloutDecision[];
  errors: unknown[];
  clock: { now: number };
}

async function rig(t: TestContext, options: Partial<RolloutManagerOptions> = {}): Promise<Rig> {
  const clock = { now: 1_000_000 };
  const target = new FakeTarget();
  const store = options.store ?? new MemoryRolloutStore();
  const decisions: RolloutDecision[] = [];
  const errors: unknown[] = [];
  const manager = await RolloutManager.open({
    store,
    node: 'n1',
    target,
    tickMs: 3_600_000, // rounds are run by hand
    clock: () => clock.now,
    onDecision: (_r, d) => decisions.push(d),
    onError: (e) => errors.push(e),
    ...options,
  });
  t.after(() => manager.close());
  return { manager, target, store, decisions, errors, clock };
}

/** `n` results of `version`, each `ms` long, the first `failures` of them failed. */
function traffic(
  m: RolloutManager,
  version: string,
  n: number,
  ms = 100,
  failures = 0,
  output?: unknown,
): void {
  for (let i = 0; i < n; i++)
    m.observe('acme', 'helper', version, ms, i >= failures, { runId: `run-${i}`, output });
}

/** Healthy traffic of both versions: `a` runs of A and `b` of B, 100 ms each. */
function healthy(m: RolloutManager, a = 200, b = 30): void {
  traffic(m, 'A', a);
  traffic(m, 'B', b);
}

const PLAN = { to: 'B', holdMs: 1_000 };

describe('RolloutManager', () => {
  it('advances the default steps 5 → 30 → 100 on holds with the gates passing, then promotes', async (t) => {
    const { manager, target, decisions, clock, errors } = await rig(t);
    const started = await manager.start('acme', 'helper', PLAN);
    assert.deepEqual(started.steps, [5, 30, 100]);
    assert.equal(started.status, 'running');
    assert.deepEqual(target.splits.get('acme/helper'), { from: 'A', to: 'B', percent: 5 });
    healthy(manager);
    clock.now += 500;
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).percent, 5, 'not held long enough');
    clock.now += 500;
    await manager.tick();
    let status = await manager.status('acme', 'helper');
    assert.equal(status.percent, 30);
    assert.equal(status.live.to.count, 0, 'a new step’s window starts empty');
    clock.now += 1_000;
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).percent, 30, 'no advance without minSamples of B');
    healthy(manager);
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).percent, 100);
    traffic(manager, 'B', 40); // A gets nothing at 100%: B is compared with A's last window
    clock.now += 1_000;
    await manager.tick();
    status = await manager.status('acme', 'helper');
    assert.equal(status.status, 'promoted');
    assert.equal(status.baseline?.count, 200);
    assert.deepEqual(
      decisions.map((d) => `${d.decision} ${d.percent}`),
      ['start 5', 'advance 30', 'advance 100', 'promote 100'],
    );
    assert.deepEqual(target.calls, [
      'split A→B 5%',
      'split A→B 30%',
      'split A→B 100%',
      'promote B',
      'split none',
    ]);
    assert.equal(target.current.get('acme/helper'), 'B');
    assert.equal(decisions[1]?.figures.to.count, 30);
    assert.equal(decisions[1]?.figures.from.count, 200);
    assert.equal(decisions[1]?.figures.to.p99, 100);
    assert.deepEqual(errors, []);
  });

  it('rolls back within one round when B’s error rate regresses, and records why', async (t) => {
    const { manager, target, decisions } = await rig(t);
    await manager.start('acme', 'helper', PLAN);
    traffic(manager, 'A', 200, 100, 2); // 1%
    traffic(manager, 'B', 40, 100, 10); // 25%
    await manager.tick();
    const status = await manager.status('acme', 'helper');
    assert.equal(status.status, 'rolled-back');
    assert.equal(status.percent, 0);
    assert.equal(status.reason, 'to.errorRate 0.25 > from.errorRate 0.01 + 0.05');
    assert.equal(target.calls.at(-1), 'split none');
    assert.equal(target.splits.get('acme/helper'), undefined);
    assert.equal(decisions.at(-1)?.decision, 'rollback');
    assert.equal(decisions.at(-1)?.figures.to.errors, 10);
    assert.equal(status.live.to.count, 40, 'a finished rollout shows its last figures');
  });

  it('rolls back on a p99 regression past ratio × A’s p99 + slack', async (t) => {
    const { manager } = await rig(t);
    await manager.start('acme', 'helper', PLAN);
    traffic(manager, 'A', 200, 120);
    traffic(manager, 'B', 30, 800);
    await manager.tick();
    const status = await manager.status('acme', 'helper');
    assert.equal(status.status, 'rolled-back');
    assert.match(status.reason ?? '', /^to\.p99 [\d.]+ms > 1\.5 × from\.p99 [\d.]+ms \+ 50ms$/);
  });

  it('judges nothing before B has minSamples results, and a slower B within the bound passes', async (t) => {
    const { manager, clock } = await rig(t);
    await manager.start('acme', 'helper', { ...PLAN, gates: { minSamples: 20 } });
    traffic(manager, 'A', 200);
    traffic(manager, 'B', 19, 100, 19); // every one failed, but too few
    clock.now += 5_000;
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).status, 'running');
    assert.equal((await manager.status('acme', 'helper')).percent, 5);
    traffic(manager, 'B', 200, 190); // errors now 19/219 = 8.7% > 5%
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).status, 'rolled-back');
  });

  it('rolls back when a function check fails, given the figures and B’s sampled runs', async (t) => {
    const seen: CheckInput[] = [];
    const { manager } = await rig(t, {
      checks: {
        quality: (input) => {
          seen.push(input);
          return input.samples.every((s) => String((s.output as { text: string }).text).length > 3)
            ? { ok: true }
            : { ok: false, reason: 'answers too short' };
        },
      },
      sampleSize: 10,
    });
    await manager.start('acme', 'helper', { ...PLAN, checks: [{ type: 'function', name: 'quality' }] });
    traffic(manager, 'A', 100);
    traffic(manager, 'B', 30, 100, 0, { text: 'a long enough answer' });
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).status, 'running');
    assert.equal(seen[0]?.samples.length, 10, 'the latest sampleSize runs');
    assert.equal(seen[0]?.to.count, 30);
    assert.equal(seen[0]?.from.count, 100);
    assert.equal(seen[0]?.samples.at(-1)?.runId, 'run-29');
    traffic(manager, 'B', 5, 100, 0, { text: 'no' });
    await manager.tick();
    const status = await manager.status('acme', 'helper');
    assert.equal(status.status, 'rolled-back');
    assert.equal(status.reason, 'check quality: answers too short');
  });

  it('a function check that throws rolls back; a plan naming an unknown one is ROLLOUT_INVALID', async (t) => {
    const { manager } = await rig(t, {
      checks: {
        broken: () => {
          throw new Error('judge unreachable');
        },
      },
    });
    await rejectsWithCode(
      manager.start('acme', 'helper', { ...PLAN, checks: [{ type: 'function', name: 'nope' }] }),
      'ROLLOUT_INVALID',
    );
    await manager.start('acme', 'helper', { ...PLAN, checks: [{ type: 'function', name: 'broken' }] });
    healthy(manager);
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).reason, 'check broken threw: judge unreachable');
  });

  it('rolls back on a declarative metric check', async (t) => {
    const { manager } = await rig(t);
    await manager.start('acme', 'helper', {
      ...PLAN,
      checks: [{ type: 'metric', name: 'fast-enough', metric: 'to.p50', max: 150 }],
    });
    traffic(manager, 'A', 200, 140);
    traffic(manager, 'B', 30, 180); // within 1.5 × A + 50, above the check's max
    await manager.tick();
    const status = await manager.status('acme', 'helper');
    assert.equal(status.status, 'rolled-back');
    assert.match(status.reason ?? '', /^check fast-enough: to\.p50 [\d.]+ > max 150$/);
  });

  it('pause stops advancing (a breach still rolls back); resume starts the step’s window again', async (t) => {
    const { manager, clock, decisions } = await rig(t);
    await manager.start('acme', 'helper', PLAN);
    const paused = await manager.pause('acme', 'helper');
    assert.equal(paused.status, 'paused');
    assert.equal((await manager.pause('acme', 'helper')).status, 'paused', 'pausing a paused one is a no-op');
    healthy(manager);
    clock.now += 10_000;
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).percent, 5);
    const resumed = await manager.resume('acme', 'helper');
    assert.equal(resumed.status, 'running');
    assert.notEqual(resumed.stepId, paused.stepId);
    assert.equal(resumed.stepStartedAt, clock.now);
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).percent, 5, 'the new window has no samples yet');
    await manager.pause('acme', 'helper');
    traffic(manager, 'A', 200);
    traffic(manager, 'B', 30, 100, 30);
    await manager.tick();
    assert.equal((await manager.status('acme', 'helper')).status, 'rolled-back');
    assert.deepEqual(
      decisions.map((d) => d.decision),
      ['start', 'pause', 'resume', 'pause', 'rollback'],
    );
  });

  it('abort sends all traffic back to A; a finished or missing rollout refuses changes', async (t) => {
    const { manager, target } = await rig(t);
    await rejectsWithCode(manager.pause('acme', 'helper'), 'ROLLOUT_NOT_FOUND');
    await rejectsWithCode(manager.status('acme', 'helper'), 'ROLLOUT_NOT_FOUND');
    await manager.start('acme', 'helper', PLAN);
    const aborted = await manager.abort('acme', 'helper', 'wrong build');
    assert.equal(aborted.status, 'aborted');
    assert.equal(aborted.reason, 'wrong build');
    assert.equal(target.splits.get('acme/helper'), undefined);
    assert.equal(target.current.get('acme/helper'), 'A');
    for (const op of ['pause', 'resume', 'promote', 'abort'] as const) {
      const error = await rejectsWithCode(manager[op]('acme', 'helper'), 'ROLLOUT_NOT_ACTIVE');
      assert.equal(error.details?.status, 'aborted');
    }
  });

  it('promote finishes at once: B current, split cleared', async (t) => {
    const { manager, target, decisions } = await rig(t);
    await manager.start('acme', 'helper', PLAN);
    const promoted = await manager.promote('acme', 'helper');
    assert.equal(promoted.status, 'promoted');
    assert.equal(promoted.percent, 100);
    assert.equal(promoted.stepIndex, 2);
    assert.deepEqual(target.calls.slice(-2), ['promote B', 'split none']);
    assert.equal(decisions.at(-1)?.decision, 'promote');
  });

  it('refuses a second rollout of one agent, a missing version and bad plans with typed errors', async (t) => {
    const { manager, target } = await rig(t);
    await rejectsWithCode(manager.start('acme', 'helper', { to: 'C' }), 'VERSION_NOT_FOUND');
    await rejectsWithCode(manager.start('acme', 'nobody', { to: 'B' }), 'VERSION_NOT_FOUND');
    target.versions.set('acme/fresh', ['B']); // a version but no current one
    await rejectsWithCode(manager.start('acme', 'fresh', { to: 'B' }), 'VERSION_NOT_FOUND');
    await rejectsWithCode(manager.start('acme', 'helper', { to: 'A' }), 'ROLLOUT_INVALID');
    for (const plan of [
      {},
      { to: 'B', steps: [5, 30] },
      { to: 'B', steps: [30, 5, 100] },
      { to: 'B', steps: [0, 100] },
      { to: 'B', holdMs: 10 },
      { to: 'B', gates: { maxP99Ratio: 0.5 } },
      { to: 'B', checks: [{ type: 'metric', name: 'x', metric: 'to.p99' }] },
      { to: 'B', checks: [{ type: 'metric', name: 'x', metric: 'to.cost', max: 1 }] },
      { to: 'B', surprise: true },
      'B',
    ]) {
      const error = await rejectsWithCode(manager.start('acme', 'helper', plan as never), 'ROLLOUT_INVALID');
      assert.ok(error.message.length > 0);
    }
    await manager.start('acme', 'helper', PLAN);
    const error = await rejectsWithCode(manager.start('acme', 'helper', PLAN), 'ROLLOUT_EXISTS');
    assert.equal(error.details?.status, 'running');
    await manager.pause('acme', 'helper');
    await rejectsWithCode(manager.start('acme', 'helper', PLAN), 'ROLLOUT_EXISTS');
    await manager.abort('acme', 'helper');
    const again = await manager.start('acme', 'helper', PLAN);
    assert.equal(again.status, 'running', 'a finished one makes way for a new one');
    assert.equal(again.history.length, 1);
  });

  it('keeps the last 100 decisions', async (t) => {
    const { manager } = await rig(t);
    await manager.start('acme', 'helper', PLAN);
    for (let i = 0; i < 60; i++) {
      await manager.pause('acme', 'helper');
      await manager.resume('acme', 'helper', `resume ${i}`);
    }
    const { history } = await manager.status('acme', 'helper');
    assert.equal(history.length, 100);
    assert.equal(history.at(-1)?.reason, 'resume 59');
    assert.ok(!history.some((d) => d.decision === 'start'), 'the oldest (start first) are dropped');
    assert.equal(history[0]?.reason, 'paused by an operator');
  });

  it('lists a tenant’s rollouts, ignores results of other versions and agents, purges a tenant', async (t) => {
    const { manager, target } = await rig(t);
    target.versions.set('acme/writer', ['A', 'B']);
    target.current.set('acme/writer', 'A');
    await manager.start('acme', 'helper', PLAN);
    await manager.start('acme', 'writer', PLAN);
    traffic(manager, 'C', 10);
    manager.observe('acme', 'other', 'B', 10, false);
    manager.observe('globex', 'helper', 'B', 10, false);
    traffic(manager, 'B', 3, 10, 1);
    const { live } = await manager.status('acme', 'helper');
    assert.deepEqual(live.to, { count: 3, errors: 1, errorRate: 1 / 3, p50: 10, p99: 10 });
    assert.equal(live.from.count, 0);
    assert.deepEqual((await manager.list('acme')).map((r) => r.definition).sort(), ['helper', 'writer']);
    assert.deepEqual(await manager.list('globex'), []);
    assert.equal(await manager.purgeTenant('acme'), 2);
    assert.deepEqual(await manager.list('acme'), []);
    assert.equal(target.splits.get('acme/helper'), undefined);
    assert.equal(target.splits.get('acme/writer'), undefined);
  });

  it('refuses calls once closed, and its round does nothing', async (t) => {
    const { manager } = await rig(t);
    await manager.close();
    await manager.close();
    await manager.tick();
    await rejectsWithCode(manager.start('acme', 'helper', PLAN), 'ROLLOUT_STORE_UNAVAILABLE');
  });

  it('two nodes on one store with leases: one decides, on both nodes’ stats; both apply it', async (t) => {
    const store = new MemoryRolloutStore();
    const leases = new MemoryLeaseStore({ leaseMs: 60_000 });
    t.after(() => leases.close());
    const one = await rig(t, { store, leases, node: 'n1' });
    const two = await rig(t, { store, leases, node: 'n2' });
    two.clock.now = one.clock.now;
    const { stepId: first } = await one.manager.start('acme', 'helper', PLAN);
    assert.deepEqual(two.target.splits.get('acme/helper'), { from: 'A', to: 'B', percent: 5 });
    await one.manager.tick(); // n1 takes the lease
    healthy(one.manager, 100, 12);
    healthy(two.manager, 100, 12); // 12 each: only together past minSamples 20
    one.clock.now += 1_000;
    two.clock.now += 1_000;
    await two.manager.tick(); // flushes n2's stats, does not decide
    assert.equal((await store.get('acme', 'helper'))?.record.percent, 5);
    await one.manager.tick();
    const record = (await store.get('acme', 'helper'))?.record as RolloutRecord;
    assert.equal(record.percent, 30);
    const advance = record.history.at(-1);
    assert.equal(advance?.decision, 'advance');
    assert.equal(advance?.node, 'n1');
    assert.equal(advance?.figures.to.count, 24, 'both nodes’ results');
    assert.equal(advance?.figures.from.count, 200);
    assert.equal(
      (await store.stats('acme', 'helper', first)).size,
      0,
      'the passed window’s stats are dropped',
    );
    assert.deepEqual(two.target.splits.get('acme/helper'), { from: 'A', to: 'B', percent: 30 });
    assert.deepEqual(
      one.decisions.map((d) => d.decision),
      ['start', 'advance'],
    );
    assert.deepEqual(two.decisions, [], 'n2 made no decision');
    // B fails on n2 only: n1 rolls back on n2's figures, and n2 routes all to A.
    traffic(two.manager, 'A', 200);
    traffic(two.manager, 'B', 30, 100, 30);
    await two.manager.tick();
    await one.manager.tick();
    assert.equal((await store.get('acme', 'helper'))?.record.status, 'rolled-back');
    assert.equal(two.target.splits.get('acme/helper'), undefined);
    assert.equal(one.target.splits.get('acme/helper'), undefined);
    assert.deepEqual(two.decisions, []);
    assert.deepEqual(
      await leases.list('rollout.'),
      new Map([['rollout.acme.helper', { owner: 'n1', revision: 1 }]]),
    );
    await one.manager.tick(); // a finished rollout's lease is given up
    assert.equal((await leases.list('rollout.')).size, 0);
  });
});

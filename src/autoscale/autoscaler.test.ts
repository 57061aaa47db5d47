import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actuator } from './actuator.ts';
import type { AutoscaleDecision } from './autoscale-decision.ts';
import type { AutoscalePolicyInput } from './autoscale-policy.ts';
import { Autoscaler } from './autoscaler.ts';
import { AutoscaleError } from './errors.ts';
import { errorReading, type MetricReading, type MetricSource, valueReading } from './metric-source.ts';

/** A source whose figures the test sets; `down` makes every read a SOURCE_UNAVAILABLE reading. */
class FakeSource implements MetricSource {
  readonly name = 'fake';
  values: Record<string, number | undefined> = {};
  down: string | undefined;
  reads = 0;
  async read(queries: readonly string[]): Promise<MetricReading[]> {
    this.reads++;
    return queries.map((q) =>
      this.down === undefined
        ? valueReading(q, this.values[q])
        : errorReading(q, new AutoscaleError('AUTOSCALE_SOURCE_UNAVAILABLE', this.down)),
    );
  }
  close(): void {}
}

class FakeActuator implements Actuator {
  sets: number[] = [];
  size: number;
  constructor(size: number) {
    this.size = size;
  }
  current(): number {
    return this.size;
  }
  async set(size: number): Promise<void> {
    this.sets.push(size);
    this.size = size;
  }
}

function setup(
  policy: Partial<AutoscalePolicyInput>,
  options: { size?: number; dryRun?: boolean; historySize?: number } = {},
) {
  const source = new FakeSource();
  const actuator = new FakeActuator(options.size ?? 2);
  let now = 1_000_000;
  const decisions: AutoscaleDecision[] = [];
  const autoscaler = new Autoscaler({
    policies: [
      {
        name: 'p',
        actuator: 'a',
        source: 'fake',
        min: 1,
        max: 5,
        cooldownMs: 0,
        scaleDownStabilizationMs: 0,
        ...policy,
      } as AutoscalePolicyInput,
    ],
    sources: { fake: source },
    actuators: { a: actuator },
    clock: () => now,
    onDecision: (d) => decisions.push(d),
    ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
    ...(options.historySize === undefined ? {} : { historySize: options.historySize }),
  });
  const advance = async (ms: number) => {
    now += ms;
    await autoscaler.tick();
  };
  const status = () => autoscaler.status()[0]!;
  return { source, actuator, autoscaler, advance, status, decisions };
}

/** The seed's compound rules: CPU over 75% with more than 100 pending for 60 s → +1; under 30% with fewer than 10 → −1. */
const seedRules: AutoscalePolicyInput['rules'] = [
  {
    name: 'up',
    when: {
      all: [
        { metric: 'cpu', op: '>', value: 0.75 },
        { metric: 'pending', op: '>', value: 100 },
      ],
    },
    forMs: 60_000,
    action: { type: 'step', change: 1 },
  },
  {
    name: 'down',
    when: {
      all: [
        { metric: 'cpu', op: '<', value: 0.3 },
        { metric: 'pending', op: '<', value: 10 },
      ],
    },
    forMs: 60_000,
    action: { type: 'step', change: -1 },
  },
];

describe('Autoscaler', () => {
  it('fires a rule only once its compound condition has held for forMs, unbroken', async () => {
    const { source, actuator, advance, status } = setup({ rules: seedRules });
    source.values = { cpu: 0.9, pending: 150 };
    await advance(0);
    assert.equal(status().state, 'holding');
    await advance(30_000);
    assert.deepEqual(actuator.sets, []);
    // One condition breaks: the hold starts over.
    source.values = { cpu: 0.9, pending: 50 };
    await advance(15_000);
    assert.equal(status().state, 'ok');
    source.values = { cpu: 0.9, pending: 150 };
    await advance(15_000);
    await advance(45_000);
    assert.deepEqual(actuator.sets, [], 'held 45 s of 60 since the break');
    await advance(15_000);
    assert.deepEqual(actuator.sets, [3]);
    const last = status().lastDecision!;
    assert.equal(last.kind, 'scale');
    assert.equal(last.rule, 'up');
    assert.equal(last.from, 2);
    assert.equal(last.to, 3);
    assert.deepEqual(last.inputs, { cpu: 0.9, pending: 150 });
    // It must hold again for forMs before the next step.
    await advance(30_000);
    assert.deepEqual(actuator.sets, [3]);
    await advance(30_000);
    assert.deepEqual(actuator.sets, [3, 4]);
  });

  it('any: one condition of several is enough; all and any together need both', async () => {
    const { source, actuator, advance } = setup({
      rules: [
        {
          name: 'up',
          when: {
            all: [{ metric: 'cpu', op: '>=', value: 0.5 }],
            any: [
              { metric: 'pending', op: '>', value: 100 },
              { metric: 'lag', op: '>', value: 50 },
            ],
          },
          action: { type: 'step', change: 2 },
        },
      ],
    });
    source.values = { cpu: 0.4, pending: 500, lag: 0 };
    await advance(1);
    assert.deepEqual(actuator.sets, [], 'all fails');
    source.values = { cpu: 0.5, pending: 0, lag: 0 };
    await advance(1);
    assert.deepEqual(actuator.sets, [], 'no any holds');
    source.values = { cpu: 0.5, pending: 0, lag: 80 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4]);
  });

  it('steps within min and max, and brings a size outside them back', async () => {
    const { source, actuator, advance, status } = setup({
      min: 2,
      max: 4,
      rules: [
        {
          name: 'up',
          when: { all: [{ metric: 'q', op: '>', value: 10 }] },
          action: { type: 'step', change: 3 },
        },
        {
          name: 'down',
          when: { all: [{ metric: 'q', op: '<', value: 1 }] },
          action: { type: 'step', change: -5 },
        },
      ],
    });
    source.values = { q: 20 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4], '2 + 3 clamped to max 4');
    await advance(1);
    assert.deepEqual(actuator.sets, [4], 'at max: holds');
    assert.equal(status().state, 'ok');
    source.values = { q: 0 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4, 2], '4 − 5 clamped to min 2');
    source.values = { q: 5 };
    actuator.size = 9;
    await advance(1);
    assert.deepEqual(actuator.sets, [4, 2, 4]);
    assert.equal(status().lastDecision?.rule, 'bounds');
  });

  it('target tracking: desired = ceil(current × value / target), clamped, with a tolerance', async () => {
    const { source, actuator, advance, status } = setup({
      min: 1,
      max: 10,
      target: { metric: 'util', target: 0.5 },
    });
    source.values = { util: 0.9 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4], 'ceil(2 × 0.9 / 0.5) = 4');
    source.values = { util: 0.52 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4], 'within 10% of the target');
    source.values = { util: 2 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4, 10], 'ceil(16) clamped to 10');
    source.values = { util: 0.1 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4, 10, 2], 'ceil(10 × 0.1 / 0.5) = 2');
    source.values = {};
    await advance(1);
    assert.equal(status().state, 'no-data');
    assert.match(status().reason, /^no-data: "util"/);
    assert.deepEqual(actuator.sets, [4, 10, 2]);
  });

  it('waits out the cooldown after a change, whichever way', async () => {
    const { source, actuator, advance, status } = setup({
      cooldownMs: 60_000,
      target: { metric: 'q', target: 10 },
    });
    source.values = { q: 20 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4]);
    source.values = { q: 40 };
    await advance(30_000);
    assert.deepEqual(actuator.sets, [4]);
    assert.equal(status().state, 'cooling');
    assert.equal(status().lastDecision?.desired, 5);
    await advance(30_000);
    assert.deepEqual(actuator.sets, [4, 5]);
  });

  it('the stabilisation window stops an oscillating load from flapping', async () => {
    const run = async (scaleDownStabilizationMs: number) => {
      const { source, actuator, advance } = setup({
        min: 1,
        max: 10,
        scaleDownStabilizationMs,
        target: { metric: 'util', target: 0.5 },
      });
      // The load (in replicas' worth of work) alternates high and low every 15 s for 10 minutes;
      // utilisation is the load spread over the replicas.
      for (let i = 0; i < 40; i++) {
        source.values = { util: (i % 2 === 0 ? 1.5 : 0.5) / actuator.size };
        await advance(15_000);
      }
      return actuator.sets;
    };
    const flapping = await run(0);
    const stable = await run(120_000);
    assert.ok(flapping.length >= 20, `without a window it flaps: ${flapping.length} changes`);
    assert.deepEqual(stable, [3], 'with a window it goes up once and stays');
  });

  it('scales down, after the window, only to the highest size wanted in it', async () => {
    const { source, actuator, advance, status } = setup(
      { min: 1, max: 10, scaleDownStabilizationMs: 60_000, target: { metric: 'q', target: 10 } },
      { size: 8 },
    );
    source.values = { q: 60 }; // wants ceil(8 × 60 / 10), clamped: 10
    await advance(1);
    assert.deepEqual(actuator.sets, [10]);
    source.values = { q: 6 }; // wants 6
    await advance(1);
    assert.deepEqual(actuator.sets, [10]);
    assert.equal(status().state, 'stabilising');
    source.values = { q: 1.5 }; // wants 2
    await advance(30_000);
    assert.deepEqual(actuator.sets, [10]);
    await advance(30_000);
    assert.deepEqual(actuator.sets, [10, 6], 'the 10 has left the window; the 6 is the highest in it');
    await advance(31_000);
    assert.deepEqual(actuator.sets, [10, 6, 2]);
  });

  it('dry-run records what it would do and never calls set', async () => {
    const { source, actuator, advance, status, decisions } = setup(
      { cooldownMs: 60_000, target: { metric: 'q', target: 10 } },
      { dryRun: true },
    );
    source.values = { q: 50 };
    await advance(1);
    await advance(1);
    assert.deepEqual(actuator.sets, []);
    assert.equal(status().state, 'cooling', 'the dry run keeps the cooldown it would have');
    assert.equal(decisions[0]?.kind, 'dry-run');
    assert.equal(decisions[0]?.to, 5);
    assert.match(decisions[0]!.reason, /^dry-run: would scale 2 → 5/);
    assert.equal(status().current, 2);
  });

  it('a source failure keeps the size, says why, and recovers', async () => {
    const { source, actuator, advance, status } = setup({ target: { metric: 'q', target: 10 } });
    source.values = { q: 20 };
    await advance(1);
    assert.deepEqual(actuator.sets, [4]);
    source.down = 'Prometheus at http://127.0.0.1:1 is unreachable: connect ECONNREFUSED 127.0.0.1:1';
    source.values = { q: 100 };
    await advance(1);
    await advance(1);
    assert.deepEqual(actuator.sets, [4]);
    assert.equal(status().state, 'source-unavailable');
    assert.match(status().reason, /^source-unavailable: .*ECONNREFUSED/);
    assert.equal(status().lastDecision?.repeats, 2, 'the repeat folds into one entry');
    assert.deepEqual(status().lastDecision?.inputs, { q: null });
    source.down = undefined;
    await advance(1);
    assert.deepEqual(actuator.sets, [4, 5]);
    assert.equal(status().state, 'ok');
  });

  it('a source that throws and an actuator that fails are recorded, not thrown', async () => {
    const actuator = new FakeActuator(1);
    const failing: MetricSource = {
      name: 'x',
      read: async () => {
        throw new Error('boom');
      },
      close() {},
    };
    const autoscaler = new Autoscaler({
      policies: [
        { name: 'p', actuator: 'a', source: 'x', min: 1, max: 3, target: { metric: 'q', target: 1 } },
      ],
      sources: { x: failing },
      actuators: { a: actuator },
    });
    await autoscaler.tick();
    assert.equal(autoscaler.status()[0]!.state, 'source-unavailable');
    assert.match(autoscaler.status()[0]!.reason, /boom/);
    const source = new FakeSource();
    source.values = { q: 3 };
    const broken: Actuator = {
      current: () => 1,
      set: async () => {
        throw new Error('no room');
      },
    };
    const second = new Autoscaler({
      policies: [
        { name: 'p', actuator: 'a', source: 'fake', min: 1, max: 3, target: { metric: 'q', target: 1 } },
      ],
      sources: { fake: source },
      actuators: { a: broken },
    });
    await second.tick();
    assert.equal(second.status()[0]!.state, 'actuator-failed');
    assert.match(second.status()[0]!.reason, /setting 1 → 3: no room/);
  });

  it('keeps a bounded history and reports new outcomes only', async () => {
    const { source, advance, status, decisions } = setup(
      {
        rules: [
          {
            name: 'up',
            when: { all: [{ metric: 'q', op: '>', value: 10 }] },
            action: { type: 'step', change: 1 },
          },
          {
            name: 'down',
            when: { all: [{ metric: 'q', op: '<', value: 5 }] },
            action: { type: 'step', change: -1 },
          },
        ],
      },
      { historySize: 5 },
    );
    for (let i = 0; i < 30; i++) {
      source.values = { q: i % 2 === 0 ? 20 : 0 };
      await advance(1);
    }
    assert.equal(status().history.length, 5);
    assert.equal(decisions.length, 30);
    assert.deepEqual(status().history.at(-1), decisions.at(-1));
  });

  it('a step-down rule waits its forMs and then the stabilisation window', async () => {
    const { source, actuator, advance } = setup(
      { rules: seedRules, scaleDownStabilizationMs: 60_000 },
      { size: 3 },
    );
    source.values = { cpu: 0.1, pending: 0 };
    // Every 15 s: the rule holds from 0 s and fires from 60 s; until then each round wanted 3.
    await advance(0);
    for (let t = 15_000; t <= 105_000; t += 15_000) {
      await advance(15_000);
      assert.deepEqual(actuator.sets, [], `at ${t / 1000} s the window still has the 3 wanted at 45 s`);
    }
    await advance(15_000);
    assert.deepEqual(actuator.sets, [2], 'at 120 s: forMs + the window');
  });

  it('an onDecision that throws does not stop autoscaling', async () => {
    const source = new FakeSource();
    source.values = { q: 3 };
    const actuator = new FakeActuator(1);
    const autoscaler = new Autoscaler({
      policies: [
        { name: 'p', actuator: 'a', source: 'fake', min: 1, max: 3, target: { metric: 'q', target: 1 } },
      ],
      sources: { fake: source },
      actuators: { a: actuator },
      onDecision: () => {
        throw new Error('observer broke');
      },
    });
    await autoscaler.tick();
    assert.deepEqual(actuator.sets, [3]);
    assert.equal(autoscaler.status()[0]?.state, 'ok');
  });

  it('refuses a bad policy with AUTOSCALE_POLICY_INVALID naming the field', () => {
    const make = (policy: unknown, actuators: Record<string, Actuator> = { a: new FakeActuator(1) }) =>
      new Autoscaler({
        policies: [policy as AutoscalePolicyInput],
        sources: { node: new FakeSource() },
        actuators,
      });
    const refused = (fn: () => unknown, field: RegExp) =>
      assert.throws(fn, (error: unknown) => {
        assert.ok(error instanceof AutoscaleError);
        assert.equal(error.code, 'AUTOSCALE_POLICY_INVALID');
        assert.match(error.message, field);
        return true;
      });
    const rule = {
      name: 'r',
      when: { all: [{ metric: 'q', op: '>', value: 1 }] },
      action: { type: 'step', change: 1 },
    };
    refused(
      () =>
        make({
          name: 'p',
          actuator: 'a',
          min: 1,
          max: 2,
          rules: [{ ...rule, action: { type: 'step', change: 0 } }],
        }),
      /policies\.0\.rules\.0\.action\.change: must not be 0/,
    );
    refused(() => make({ name: 'p', actuator: 'a', min: 3, max: 2, rules: [rule] }), /policies\.0\.min/);
    refused(() => make({ name: 'p', actuator: 'a', min: 1, max: 2 }), /policies\.0\.rules: give either/);
    refused(() => make({ name: 'p', actuator: 'a', min: 1, max: 2, rules: [rule], extra: 1 }), /extra/);
    refused(
      () =>
        make({
          name: 'p',
          actuator: 'a',
          min: 1,
          max: 2,
          rules: [{ ...rule, when: { all: [{ metric: 'q', op: '~', value: 1 }] } }],
        }),
      /policies\.0\.rules\.0\.when\.all\.0\.op/,
    );
    refused(
      () => make({ name: 'p', actuator: 'b', min: 1, max: 2, rules: [rule] }),
      /policies\.0\.actuator: no actuator "b"/,
    );
  });

  it('start() evaluates on its timer; close() stops it and tick() after close rejects', async () => {
    const source = new FakeSource();
    source.values = { q: 1 };
    const autoscaler = new Autoscaler({
      policies: [
        { name: 'p', actuator: 'a', source: 'fake', min: 1, max: 3, target: { metric: 'q', target: 1 } },
      ],
      sources: { fake: source },
      actuators: { a: new FakeActuator(1) },
      tickMs: 5,
    });
    autoscaler.start();
    while (source.reads < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await autoscaler.close();
    const reads = source.reads;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(source.reads, reads);
    await assert.rejects(autoscaler.tick(), { code: 'ABORTED' });
  });
});

// Property tests over random histories on 2–4 replicas, for every CRDT: merge is commutative,
// associative and idempotent; merging every delta gives what merging every full state gives;
// replicas fed the deltas shuffled, duplicated and partly dropped, then full states, converge;
// the anti-entropy delta a replica derives from a peer's digest brings the peer up to the join.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from './canonical-json.ts';
import { digestSchema } from './digest.ts';
import {
  CrdtMap,
  digestOf,
  GCounter,
  HybridClock,
  LWWRegister,
  missingFrom,
  ORSet,
  PNCounter,
} from './index.ts';

interface Replica {
  merge(other: unknown): unknown;
  state(): unknown;
}

interface Kind<C extends Replica> {
  name: string;
  create(clock: HybridClock): C;
  parse(json: unknown, clock: HybridClock): C;
  /** One local operation chosen by `op` and `arg`; returns its delta. */
  apply(crdt: C, op: number, arg: number): C;
}

const setValue = (arg: number) => (arg % 3 === 0 ? { n: arg % 4, tag: ['x', arg % 2] } : arg % 5);

const KINDS = [
  {
    name: 'GCounter',
    create: (clock) => new GCounter(clock.node),
    parse: (json, clock) => GCounter.from(json, clock.node),
    apply: (c, _op, arg) => c.increment(arg + 1),
  } satisfies Kind<GCounter>,
  {
    name: 'PNCounter',
    create: (clock) => new PNCounter(clock.node),
    parse: (json, clock) => PNCounter.from(json, clock.node),
    apply: (c, op, arg) => (op % 2 === 0 ? c.increment(arg + 1) : c.decrement(arg + 1)),
  } satisfies Kind<PNCounter>,
  {
    name: 'LWWRegister',
    create: (clock) => new LWWRegister({ clock }),
    parse: (json, clock) => LWWRegister.from(json, { clock }),
    apply: (c, op, arg) => c.set(op % 2 === 0 ? arg : { v: arg, op }),
  } satisfies Kind<LWWRegister>,
  {
    name: 'ORSet',
    create: (clock) => new ORSet(clock.node),
    parse: (json, clock) => ORSet.from(json, clock.node),
    apply: (c, op, arg) => (op % 3 === 2 ? c.remove(setValue(arg)) : c.add(setValue(arg))),
  } satisfies Kind<ORSet>,
  {
    name: 'CrdtMap',
    create: (clock) => new CrdtMap(clock),
    parse: (json, clock) => CrdtMap.from(json, clock),
    apply: (m, op, arg) => {
      switch (op % 5) {
        case 0:
          return m.update('hits', 'g-counter', (c) => c.increment(arg + 1));
        case 1:
          return m.update('balance', 'pn-counter', (c) =>
            arg % 2 === 0 ? c.increment(arg + 1) : c.decrement(arg + 1),
          );
        case 2:
          return m.update('owner', 'lww-register', (r) => r.set(`node-${arg}`));
        case 3:
          return m.update('tags', 'or-set', (s) => s.add(arg % 4));
        default:
          return m.update('tags', 'or-set', (s) => s.remove(arg % 4));
      }
    },
  } satisfies Kind<CrdtMap>,
] as Kind<Replica>[];

/** State JSON with OR-Set entries and dots sorted, so equal states compare equal. */
function normal(state: unknown): string {
  const sortDeep = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortDeep);
    if (value === null || typeof value !== 'object') return value;
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record)) out[key] = sortDeep(record[key]);
    if (record.type === 'or-set') {
      const entries = out.entries as Array<{ value: unknown; dots: unknown[] }>;
      for (const e of entries) e.dots.sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1));
      entries.sort((a, b) => (canonicalJson(a.value) < canonicalJson(b.value) ? -1 : 1));
    }
    return out;
  };
  return canonicalJson(sortDeep(state));
}

/** A step of a history: a local op on one replica, or one replica merging another's state. */
const step = fc.record({
  at: fc.nat(3),
  from: fc.nat(3),
  sync: fc.boolean(),
  op: fc.nat(14),
  arg: fc.nat(20),
  tick: fc.nat(2),
});

const history = fc.record({
  replicas: fc.integer({ min: 2, max: 4 }),
  steps: fc.array(step, { minLength: 1, maxLength: 40 }),
});

type History = typeof history extends fc.Arbitrary<infer H> ? H : never;

interface Run {
  replicas: Replica[];
  /** Every delta made, in the order made. */
  deltas: Replica[];
  clock(node: string): HybridClock;
}

/** Plays a history. Clocks share one simulated wall time that steps forward by 0–2 ms, so HLC ties happen. */
function play(kind: Kind<Replica>, h: History): Run {
  let wall = 1_000;
  const clock = (node: string) => new HybridClock({ node, maxDriftMs: 1e9, wallClock: () => wall });
  const replicas = Array.from({ length: h.replicas }, (_, i) => kind.create(clock(`n${i}`)));
  const deltas: Replica[] = [];
  for (const s of h.steps) {
    wall += s.tick;
    const target = replicas[s.at % h.replicas]!;
    if (s.sync) target.merge(replicas[s.from % h.replicas]!.state());
    else deltas.push(kind.apply(target, s.op, s.arg));
  }
  return { replicas, deltas, clock };
}

const RUNS = 100;

for (const kind of KINDS) {
  describe(`${kind.name} merge laws`, () => {
    const copy = (run: Run, r: Replica, node = 'copy') =>
      kind.parse(JSON.parse(JSON.stringify(r.state())), run.clock(node));

    it('is commutative, associative and idempotent over states from random histories', () => {
      fc.assert(
        fc.property(history, (h) => {
          const run = play(kind, h);
          const [a, b] = run.replicas as [Replica, Replica];
          const c = run.replicas[2 % run.replicas.length]!;
          const ab = copy(run, a).merge(b) as Replica;
          const ba = copy(run, b).merge(a) as Replica;
          assert.equal(normal(ab.state()), normal(ba.state()), 'a ⊔ b = b ⊔ a');
          const left = (copy(run, a).merge(b) as Replica).merge(c) as Replica;
          const right = copy(run, a).merge(copy(run, b).merge(c)) as Replica;
          assert.equal(normal(left.state()), normal(right.state()), '(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)');
          assert.equal(normal((copy(run, a).merge(a) as Replica).state()), normal(a.state()), 'a ⊔ a = a');
          const again = copy(run, ab).merge(b) as Replica;
          assert.equal(normal(again.state()), normal(ab.state()), '(a ⊔ b) ⊔ b = a ⊔ b');
        }),
        { numRuns: RUNS },
      );
    });

    it('merging every delta gives what merging every full state gives', () => {
      fc.assert(
        fc.property(history, (h) => {
          const run = play(kind, h);
          const byDeltas = kind.create(run.clock('obs-d'));
          for (const d of run.deltas) byDeltas.merge(JSON.parse(JSON.stringify(d.state())));
          const byStates = kind.create(run.clock('obs-s'));
          for (const r of run.replicas) byStates.merge(r.state());
          assert.equal(normal(byDeltas.state()), normal(byStates.state()));
        }),
        { numRuns: RUNS },
      );
    });

    it('equals the join of all states when every delta arrives at least once, in any order, with duplicates', () => {
      fc.assert(
        fc.property(history, fc.array(fc.nat(1_000), { maxLength: 80 }), (h, order) => {
          const run = play(kind, h);
          const n = run.deltas.length;
          // Every delta once in a random order, then extra random copies.
          const keys = run.deltas.map((_, i) => order[i % Math.max(order.length, 1)] ?? i);
          const sequence = run.deltas.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b);
          for (const extra of order) if (n > 0) sequence.splice(extra % (sequence.length + 1), 0, extra % n);
          const receiver = kind.create(run.clock('late'));
          for (const i of sequence) receiver.merge(JSON.parse(JSON.stringify(run.deltas[i]!.state())));
          const expected = kind.create(run.clock('obs'));
          for (const r of run.replicas) expected.merge(r);
          assert.equal(normal(receiver.state()), normal(expected.state()));
        }),
        { numRuns: RUNS },
      );
    });

    it('converges when deltas arrive shuffled, duplicated and dropped, then full states are exchanged', () => {
      const delivery = fc.array(fc.record({ pick: fc.nat(1_000), copies: fc.integer({ min: 0, max: 2 }) }), {
        maxLength: 60,
      });
      fc.assert(
        fc.property(history, fc.array(delivery, { minLength: 4, maxLength: 4 }), (h, plans) => {
          const run = play(kind, h);
          const receivers = run.replicas.map((_, i) => kind.create(run.clock(`r${i}`)));
          receivers.forEach((receiver, i) => {
            // Random picks give reordering and duplicates; deltas never picked are dropped.
            for (const { pick, copies } of plans[i]!) {
              if (run.deltas.length === 0) break;
              const delta = run.deltas[pick % run.deltas.length]!;
              for (let k = 0; k < copies; k++) receiver.merge(JSON.parse(JSON.stringify(delta.state())));
            }
          });
          // Anti-entropy: each receiver takes its own replica's full state, then everyone's, in a ring.
          for (const [i, receiver] of receivers.entries()) receiver.merge(run.replicas[i]!.state());
          for (let round = 0; round < receivers.length; round++) {
            for (const [i, receiver] of receivers.entries()) {
              receiver.merge(receivers[(i + 1) % receivers.length]!.state());
            }
          }
          const expected = kind.create(run.clock('obs'));
          for (const r of run.replicas) expected.merge(r);
          for (const receiver of receivers) assert.equal(normal(receiver.state()), normal(expected.state()));
        }),
        { numRuns: RUNS },
      );
    });
    it("the delta missing from a peer's digest brings the peer to the join; no delta both ways means equal states", () => {
      fc.assert(
        fc.property(history, (h) => {
          const run = play(kind, h);
          const [a, b] = run.replicas as [Replica, Replica];
          type Shared = Parameters<typeof digestOf>[0];
          const wire = (r: Replica) => digestSchema.parse(JSON.parse(JSON.stringify(digestOf(r as Shared))));
          const toB = missingFrom(a as Shared, wire(b));
          const repaired = copy(run, b);
          if (toB !== undefined) repaired.merge(JSON.parse(JSON.stringify(toB)));
          const joined = copy(run, b).merge(a) as Replica;
          assert.equal(normal(repaired.state()), normal(joined.state()), 'b ⊔ missing(a, digest b) = b ⊔ a');
          if (toB === undefined && missingFrom(b as Shared, wire(a)) === undefined) {
            assert.equal(normal(a.state()), normal(b.state()), 'nothing missing either way: equal');
          }
        }),
        { numRuns: RUNS },
      );
    });
  });
}

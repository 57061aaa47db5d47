// CRDTs: per type, 100,000 local operations spread over 3 writer replicas (nodes a, b, c);
// each delta is JSON-encoded (its size counted), then merged into a fourth replica two ways:
// as the delta object (merge alone) and from its JSON string (JSON.parse + zod validation +
// merge, what a node receiving it off the bus pays). Checks both receivers end with the
// writers' joined state (the same JSON characters, as OR-Set entry order may differ).
import { CrdtMap, GCounter, HybridClock, LWWRegister, ORSet, PNCounter } from '../src/crdt/index.ts';
import { seededRandom } from '../test/helpers.ts';
import { type BenchReport, printReport, round } from './report.ts';

const OPS = 100_000;
const WRITERS = ['a', 'b', 'c'];
/** Distinct OR-Set elements and map fields the operations touch. */
const SET_ELEMENTS = 1_000;

interface Replica {
  merge(other: unknown): unknown;
  state(): unknown;
}

interface Subject {
  name: string;
  /** A replica for `node` (writers a–c, receivers r1/r2). */
  create(clock: HybridClock): Replica;
  /** One local operation; `r` is a uniform random number in [0, 1). */
  op(replica: Replica, r: number): Replica;
  /** What "one op" is, for the table. */
  ops: string;
}

const SUBJECTS: Subject[] = [
  {
    name: 'g-counter',
    ops: 'increment',
    create: (clock) => new GCounter(clock.node),
    op: (c) => (c as GCounter).increment(),
  },
  {
    name: 'pn-counter',
    ops: '50% increment, 50% decrement',
    create: (clock) => new PNCounter(clock.node),
    op: (c, r) => (r < 0.5 ? (c as PNCounter).increment() : (c as PNCounter).decrement()),
  },
  {
    name: 'lww-register',
    ops: 'set a number',
    create: (clock) => new LWWRegister({ clock }),
    op: (c, r) => (c as LWWRegister<number>).set(Math.floor(r * 1e6)),
  },
  {
    name: 'or-set',
    ops: `60% add, 40% remove, over ${SET_ELEMENTS} strings`,
    create: (clock) => new ORSet(clock.node),
    op: (c, r) => {
      const value = `item-${Math.floor((r * 1e6) % SET_ELEMENTS)}`;
      return r < 0.6 ? (c as ORSet<string>).add(value) : (c as ORSet<string>).remove(value);
    },
  },
  {
    name: 'crdt-map',
    ops: '8 fields: 2 of each kind, ops as above',
    create: (clock) => new CrdtMap(clock),
    op: (c, r) => {
      const m = c as CrdtMap;
      const field = Math.floor(r * 8);
      const name = `f${field}`;
      switch (field >> 1) {
        case 0:
          return m.update(name, 'g-counter', (x) => x.increment());
        case 1:
          return m.update(name, 'pn-counter', (x) => ((r * 1e3) % 1 < 0.5 ? x.increment() : x.decrement()));
        case 2:
          return m.update(name, 'lww-register', (x) => x.set(Math.floor(r * 1e6)));
        default:
          return m.update(name, 'or-set', (x) =>
            (r * 1e4) % 1 < 0.6
              ? x.add(`item-${Math.floor(r * 1e6) % 100}`)
              : x.remove(`item-${Math.floor(r * 1e6) % 100}`),
          );
      }
    },
  },
];

const ns = (ms: number) => (ms * 1e6) / OPS;

function measure(subject: Subject) {
  let wall = Date.now();
  // Wall time advances 1 ms every 50 ops so HLC counters and ties are exercised.
  const clock = (node: string) => new HybridClock({ node, wallClock: () => wall });
  const writers = WRITERS.map((node) => subject.create(clock(node)));
  const random = seededRandom(7);
  const draws = Array.from({ length: OPS }, () => random());
  const deltas: Replica[] = new Array(OPS);
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    if (i % 50 === 0) wall++;
    deltas[i] = subject.op(writers[i % WRITERS.length]!, draws[i]!);
  }
  const opMs = performance.now() - t0;
  const t1 = performance.now();
  const wire = deltas.map((d) => JSON.stringify(d.state()));
  const encodeMs = performance.now() - t1;
  let bytes = 0;
  for (const w of wire) bytes += Buffer.byteLength(w);

  const byObject = subject.create(clock('r1'));
  const t2 = performance.now();
  for (let i = 0; i < OPS; i++) byObject.merge(deltas[i]);
  const mergeMs = performance.now() - t2;

  const byJson = subject.create(clock('r2'));
  const t3 = performance.now();
  for (let i = 0; i < OPS; i++) byJson.merge(JSON.parse(wire[i]!));
  const decodeMergeMs = performance.now() - t3;

  const joined = subject.create(clock('j'));
  const t4 = performance.now();
  for (const w of writers) joined.merge(JSON.parse(JSON.stringify(w.state())));
  const fullMergeMs = performance.now() - t4;
  const expected = JSON.stringify(joined.state());
  const sortedState = (r: Replica) => [...JSON.stringify(r.state())].sort().join('');
  if (sortedState(byObject) !== sortedState(joined) || sortedState(byJson) !== sortedState(joined)) {
    throw new Error(`${subject.name}: a receiver did not converge`);
  }
  return {
    opNs: ns(opMs),
    encodeNs: ns(encodeMs),
    bytesPerOp: bytes / OPS,
    mergeNs: ns(mergeMs),
    decodeMergeNs: ns(decodeMergeMs),
    stateBytes: Buffer.byteLength(expected),
    fullMergeMs,
  };
}

export async function runCrdtBench(): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const figures: BenchReport['figures'] = {};
  for (const subject of SUBJECTS) {
    measure(subject); // warm-up
    const m = measure(subject);
    rows.push({
      type: subject.name,
      ops: subject.ops,
      'op ns (makes the delta)': round(m.opNs, 0),
      'delta JSON bytes/op': round(m.bytesPerOp, 1),
      'encode ns/op': round(m.encodeNs, 0),
      'merge ns/op (object)': round(m.mergeNs, 0),
      'parse+validate+merge ns/op (JSON)': round(m.decodeMergeNs, 0),
      'joined state JSON bytes': m.stateBytes,
      '3 full-state merges ms': round(m.fullMergeMs, 2),
    });
    const key = subject.name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    figures[`${key}DeltaBytesPerOp`] = round(m.bytesPerOp, 1);
    figures[`${key}MergeNsPerOp`] = round(m.mergeNs, 0);
    figures[`${key}JsonMergeNsPerOp`] = round(m.decodeMergeNs, 0);
    figures[`${key}OpNs`] = round(m.opNs, 0);
  }
  return {
    name: 'crdt',
    measures: `${OPS.toLocaleString('en')} ops per type over 3 writers; delta size and merge cost per op into a 4th replica`,
    rows,
    figures,
  };
}

if (import.meta.main) printReport(await runCrdtBench());

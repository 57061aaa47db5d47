// CRDT replication through CrdtReplicator on in-memory buses. Part 1, per type: 20,000 local
// updates on one replica with two others listening; the bytes of each published delta message
// (its JSON payload: from, name, delta) and the cost per update from the first update until
// both receivers merged the last (apply + publish + two validations and merges). Part 2: three
// replicas on lossy transports (20% dropped, 20% duplicated, 30% reordered); one is
// partitioned while every replica makes 1,000 updates over five CRDTs, then healed; the time
// from the heal until all three hold the same state, at the default anti-entropy period (2 s)
// and at 100 ms.
import { createBus, MemoryHub, MemoryTransport } from '../src/bus/index.ts';
import { CrdtReplicator, type SharedKind } from '../src/crdt/index.ts';
import { lossyTransport } from '../src/testing/index.ts';
import { seededRandom } from '../test/helpers.ts';
import { type BenchReport, printReport, round } from './report.ts';

const OPS = 20_000;

interface Subject {
  kind: SharedKind;
  ops: string;
  // biome-ignore lint/suspicious/noExplicitAny: one op per kind, typed by the kind
  op: (crdt: any, i: number) => unknown;
}

const SUBJECTS: Subject[] = [
  { kind: 'g-counter', ops: 'increment', op: (c, _i) => c.increment() },
  { kind: 'pn-counter', ops: 'increment / decrement', op: (c, i) => (i % 2 ? c.increment() : c.decrement()) },
  { kind: 'lww-register', ops: 'set a number', op: (c, i) => c.set(i) },
  {
    kind: 'or-set',
    ops: '60% add, 40% remove over 1,000 strings',
    op: (c, i) => (i % 5 < 3 ? c.add(`item-${i % 1000}`) : c.remove(`item-${(i * 7) % 1000}`)),
  },
  {
    kind: 'crdt-map',
    ops: 'increment one of 8 counter fields',
    op: (m, i) => m.update(`f${i % 8}`, 'g-counter', (c: { increment(): unknown }) => c.increment()),
  },
];

const until = async (done: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('did not converge in time');
    await new Promise((r) => setTimeout(r, 1));
  }
};

async function replicate(subject: Subject) {
  const hub = new MemoryHub();
  const buses = [0, 1, 2].map(() => createBus({ transport: new MemoryTransport(hub) }));
  // A long anti-entropy period: this part measures the delta path alone.
  const replicas = await Promise.all(
    buses.map((bus, i) =>
      CrdtReplicator.open({ bus, node: `n${i}`, name: 'bench', antiEntropyMs: 3_600_000 }),
    ),
  );
  const shared = replicas.map((r) => r.crdt('x', subject.kind));
  await new Promise((r) => setTimeout(r, 5)); // the declarations' digests
  let bytes = 0;
  const sample = 200;
  const start = performance.now();
  for (let i = 0; i < OPS; i++) {
    const delta = shared[0]!.update((c) => subject.op(c, i) as never);
    if (i < sample)
      bytes += Buffer.byteLength(
        JSON.stringify({ from: 'n0', name: 'x', delta: (delta as { state(): unknown }).state() }),
      );
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await until(() => replicas[1]!.stats().deltasMerged >= OPS && replicas[2]!.stats().deltasMerged >= OPS);
  const ms = performance.now() - start;
  const same = JSON.stringify(shared[1]!.value()) === JSON.stringify(shared[0]!.value());
  for (const r of replicas) await r.close();
  for (const b of buses) await b.close();
  if (!same) throw new Error(`${subject.kind}: receivers did not converge`);
  return { bytesPerOp: bytes / sample, usPerOp: (ms * 1000) / OPS };
}

async function healed(antiEntropyMs: number) {
  const hub = new MemoryHub();
  const lossy = [0, 1, 2].map((i) =>
    lossyTransport(new MemoryTransport(hub), { seed: 10 + i, drop: 0.2, duplicate: 0.2, reorder: 0.3 }),
  );
  const buses = lossy.map((transport) => createBus({ transport }));
  const replicas = await Promise.all(
    buses.map((bus, i) => CrdtReplicator.open({ bus, node: `n${i}`, name: 'heal', antiEntropyMs })),
  );
  const objects = replicas.map((r) => ({
    visits: r.crdt('visits', 'g-counter'),
    balance: r.crdt('balance', 'pn-counter'),
    owner: r.crdt('owner', 'lww-register'),
    tags: r.crdt('tags', 'or-set'),
    agent: r.crdt('agent', 'crdt-map'),
  }));
  lossy[2]!.partitioned = true;
  const random = seededRandom(3);
  for (let i = 0; i < 3_000; i++) {
    const o = objects[i % 3]!;
    const r = random();
    if (r < 0.2) o.visits.update((c) => c.increment());
    else if (r < 0.4) o.balance.update((c) => (r < 0.3 ? c.increment(2) : c.decrement()));
    else if (r < 0.6) o.owner.update((c) => c.set(i));
    else if (r < 0.8) o.tags.update((s) => (r < 0.72 ? s.add(`t${i % 200}`) : s.remove(`t${(i * 3) % 200}`)));
    else o.agent.update((m) => m.update(`f${i % 4}`, 'pn-counter', (c) => c.increment()));
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  const view = (i: number) => {
    const o = objects[i]!;
    return JSON.stringify([
      o.visits.value(),
      o.balance.value(),
      o.owner.value(),
      (o.tags.value() as string[]).sort(),
      Object.entries(o.agent.value()).sort(),
    ]);
  };
  const before = replicas.map((r) => r.stats());
  lossy[2]!.partitioned = false;
  const start = performance.now();
  await until(() => view(0) === view(1) && view(1) === view(2));
  const ms = performance.now() - start;
  const repairs = replicas.reduce((n, r, i) => n + r.stats().repairsSent - before[i]!.repairsSent, 0);
  for (const r of replicas) await r.close();
  for (const b of buses) await b.close();
  return { ms, repairs };
}

export async function runCrdtSyncBench(): Promise<BenchReport> {
  const rows: BenchReport['rows'] = [];
  const figures: BenchReport['figures'] = {};
  for (const subject of SUBJECTS) {
    await replicate(subject); // warm-up
    const m = await replicate(subject);
    rows.push({
      type: subject.kind,
      ops: subject.ops,
      'delta message JSON bytes/op': round(m.bytesPerOp, 1),
      'µs/op (update → 2 replicas merged)': round(m.usPerOp, 2),
    });
    const key = subject.kind.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    figures[`${key}MessageBytesPerOp`] = round(m.bytesPerOp, 1);
    figures[`${key}ReplicatedUsPerOp`] = round(m.usPerOp, 2);
  }
  for (const period of [2_000, 100]) {
    const h = await healed(period);
    rows.push({
      type: `heal, anti-entropy ${period} ms`,
      ops: '3 replicas, 3,000 updates, 1 partitioned; lossy links',
      'convergence ms after heal': round(h.ms, 0),
      'repair deltas sent': h.repairs,
    });
    figures[`convergenceMsAfterHeal${period}`] = round(h.ms, 0);
  }
  return {
    name: 'crdt-sync',
    measures: `CrdtReplicator on in-memory buses: ${OPS.toLocaleString('en')} updates per type to 2 replicas; convergence after a partition heals`,
    rows,
    figures,
  };
}

if (import.meta.main) printReport(await runCrdtSyncBench());

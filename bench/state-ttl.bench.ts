// TTL for 1,000,000 agent states, each in its own process: heap per key after GC, the cost of
// creating and touching a key, and the CPU spent expiring them. Agentfleet's AgentStateStore (one
// unref'd interval driving a timing wheel, clock simulated) against the naive way: a Map entry
// plus one setTimeout per key (re-armed with refresh() on a touch), expiring in real time.
import { fileURLToPath } from 'node:url';
import { AgentStateStore } from '../src/state/index.ts';
import { runChild } from './child.ts';
import { type BenchReport, printReport, round } from './report.ts';

const KEYS = 1_000_000;
/** Tag mix and the seed's TTLs: 10% emergency 5 s, 40% user_active 30 s, 30% none 60 s, 20% idle 300 s. */
const CLASSES = [
  { share: 0.1, tags: ['emergency'], ttlMs: 5_000 },
  { share: 0.4, tags: ['user_active'], ttlMs: 30_000 },
  { share: 0.3, tags: [] as string[], ttlMs: 60_000 },
  { share: 0.2, tags: ['idle_background'], ttlMs: 300_000 },
];
/** Expiries per second if every key expired once per its TTL (all churn): Σ share × keys / TTL. */
const CHURN_RATE = CLASSES.reduce((sum, c) => sum + (c.share * KEYS) / (c.ttlMs / 1000), 0);

interface Sample {
  heapBytesPerKey: number;
  createNsPerKey: number;
  touchNsPerKey: number;
  expiryCpuNsPerKey: number;
  expired: number;
  timers: number;
}

const classOf = (i: number) => {
  const r = (i * 0.6180339887) % 1;
  let acc = 0;
  for (const c of CLASSES) {
    acc += c.share;
    if (r < acc) return c;
  }
  return CLASSES[CLASSES.length - 1]!;
};
/** Steady state: each key was last touched a uniform fraction of its TTL ago, so deadlines spread. */
const touchedAt = (i: number) => -Math.floor(((i * 0.7548776662) % 1) * classOf(i).ttlMs);

function settle(): number {
  for (let i = 0; i < 4; i++) globalThis.gc!();
  return process.memoryUsage().heapUsed;
}

const cpuNs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) * 1000;
};

async function agentfleet(ids: string[]): Promise<Sample> {
  let now = -1_000_000;
  const store = new AgentStateStore({ clock: () => now });
  const base = settle();
  let cpu = process.cpuUsage();
  for (let i = 0; i < KEYS; i++) {
    now = touchedAt(i);
    const id = ids[i] as string;
    store.setTags(id, classOf(i).tags);
    store.set(id, { x: i });
  }
  const createNs = cpuNs(cpu) / KEYS;
  const heap = settle() - base;
  cpu = process.cpuUsage();
  for (let i = 0; i < KEYS; i++) {
    now = touchedAt(i); // same time again: the deadline is re-set to the same value
    store.set(ids[i] as string, {});
  }
  const touchNs = cpuNs(cpu) / KEYS;
  // Expiry: the simulated clock walks one tick (1 s) at a time through the longest TTL.
  cpu = process.cpuUsage();
  let expired = 0;
  for (now = 0; now <= 300_000; now += 1000) {
    for (let n = store.purgeExpired(); n > 0; n = store.purgeExpired()) expired += n;
  }
  const expiryNs = cpuNs(cpu) / KEYS;
  if (expired !== KEYS || store.size !== 0) throw new Error(`expired ${expired}, left ${store.size}`);
  await store.close();
  return {
    heapBytesPerKey: heap / KEYS,
    createNsPerKey: createNs,
    touchNsPerKey: touchNs,
    expiryCpuNsPerKey: expiryNs,
    expired,
    timers: 1,
  };
}

async function timers(ids: string[]): Promise<Sample> {
  interface Entry {
    values: object;
    tags: string[];
    timer: NodeJS.Timeout | undefined;
  }
  const states = new Map<string, Entry>();
  let expired = 0;
  const base = settle();
  let cpu = process.cpuUsage();
  for (let i = 0; i < KEYS; i++) {
    const id = ids[i] as string;
    const c = classOf(i);
    const entry: Entry = { values: { x: i }, tags: c.tags, timer: undefined };
    entry.timer = setTimeout(() => {
      states.delete(id);
      expired++;
    }, c.ttlMs);
    states.set(id, entry);
  }
  const createNs = cpuNs(cpu) / KEYS;
  const heap = settle() - base;
  const live = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  cpu = process.cpuUsage();
  for (let i = 0; i < KEYS; i++) states.get(ids[i] as string)!.timer!.refresh();
  const touchNs = cpuNs(cpu) / KEYS;
  // Real timers cannot be sped up: re-arm every key to fire 1–3 s from now (2000 distinct
  // durations, so they fire spread over 2 s as real deadlines would), and measure the CPU the
  // process spends until the last one fired (the event loop sleeps in between).
  for (const entry of states.values()) clearTimeout(entry.timer);
  const all = Promise.withResolvers<void>();
  for (let i = 0; i < KEYS; i++) {
    const id = ids[i] as string;
    states.get(id)!.timer = setTimeout(
      () => {
        states.delete(id);
        if (++expired === KEYS) all.resolve();
      },
      1000 + (i % 2000),
    );
  }
  cpu = process.cpuUsage();
  await all.promise;
  const expiryNs = cpuNs(cpu) / KEYS;
  return {
    heapBytesPerKey: heap / KEYS,
    createNsPerKey: createNs,
    touchNsPerKey: touchNs,
    expiryCpuNsPerKey: expiryNs,
    expired,
    timers: live,
  };
}

export async function runStateTtlBench(): Promise<BenchReport> {
  const script = fileURLToPath(import.meta.url);
  const ours = runChild<Sample>(script, ['--child', 'agentfleet'], ['--expose-gc']);
  const naive = runChild<Sample>(script, ['--child', 'timers'], ['--expose-gc']);
  const row = (approach: string, s: Sample) => ({
    approach,
    timers: s.timers,
    'heap bytes/key': round(s.heapBytesPerKey, 0),
    'create ns/key': round(s.createNsPerKey, 0),
    'touch ns/key': round(s.touchNsPerKey, 0),
    'expiry CPU ns/key': round(s.expiryCpuNsPerKey, 0),
    'expiries per CPU s': Math.round(1e9 / s.expiryCpuNsPerKey),
    [`CPU ms per s @${Math.round(CHURN_RATE)} expiries/s`]: round(
      (s.expiryCpuNsPerKey * CHURN_RATE) / 1e6,
      1,
    ),
  });
  return {
    name: 'state-ttl',
    measures: `TTL of ${KEYS.toLocaleString()} agent states (seed TTL mix), heap after GC and CPU, fresh process each`,
    rows: [row('agentfleet store (timing wheel)', ours), row('Map + setTimeout per key', naive)],
    figures: {
      heapBytesPerKey: round(ours.heapBytesPerKey, 0),
      naiveHeapBytesPerKey: round(naive.heapBytesPerKey, 0),
      heapVsNaive: round(ours.heapBytesPerKey / naive.heapBytesPerKey),
      expiriesPerCpuSecond: Math.round(1e9 / ours.expiryCpuNsPerKey),
      naiveExpiriesPerCpuSecond: Math.round(1e9 / naive.expiryCpuNsPerKey),
      expiryCpuVsNaive: round(ours.expiryCpuNsPerKey / naive.expiryCpuNsPerKey),
      churnExpiriesPerSec: Math.round(CHURN_RATE),
      cpuMsPerWallSecondAtChurn: round((ours.expiryCpuNsPerKey * CHURN_RATE) / 1e6, 2),
      naiveCpuMsPerWallSecondAtChurn: round((naive.expiryCpuNsPerKey * CHURN_RATE) / 1e6, 2),
      touchNsPerKey: round(ours.touchNsPerKey, 0),
      naiveTouchNsPerKey: round(naive.touchNsPerKey, 0),
      timers: ours.timers,
      naiveTimers: naive.timers,
    },
  };
}

if (import.meta.main) {
  const at = process.argv.indexOf('--child');
  if (at !== -1) {
    const ids = Array.from({ length: KEYS }, (_, i) => `agent-${i.toString(36)}`);
    const kind = process.argv[at + 1];
    const sample = kind === 'agentfleet' ? await agentfleet(ids) : await timers(ids);
    console.log(`RESULT:${JSON.stringify(sample)}`);
  } else {
    printReport(await runStateTtlBench());
  }
}

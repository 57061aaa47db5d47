// Context-aware state sync: 10,000 agents, 1M random patches (3 of 8 fields; each agent's tag
// makes 4 of the 8 relevant) through an AgentStateStore publishing deltas on the in-memory bus,
// one subscriber counting them. Baseline in the same run: the same patches merged into a Map
// and the FULL state published on every update (the naive approach).
import { createBus } from '../src/bus/index.ts';
import { createStateStore } from '../src/state/index.ts';
import { seededRandom } from '../test/helpers.ts';
import { type BenchReport, printReport, round } from './report.ts';

const AGENTS = 10_000;
const UPDATES = 1_000_000;
const PATCHES = 200_000;
const YIELD_EVERY = 1_000;
const RELEVANCE = {
  navigation: ['position', 'heading', 'speed', 'load'],
  low_battery: ['battery_level', 'charging_status', 'temperature', 'mode'],
};
const FIELDS = [...RELEVANCE.navigation, ...RELEVANCE.low_battery];

function valueFor(field: string, r: number): unknown {
  if (field === 'position') return [Math.round(r * 1e6) / 100, Math.round(r * 7e5) / 100];
  if (field === 'mode' || field === 'charging_status') return r < 0.5 ? 'on' : 'off';
  return Math.round(r * 10_000) / 100;
}

/** Pre-built patches (3 distinct fields of 8), so generating them is not measured. */
function makePatches(): Array<Record<string, unknown>> {
  const rand = seededRandom(1);
  return Array.from({ length: PATCHES }, () => {
    const patch: Record<string, unknown> = {};
    while (Object.keys(patch).length < 3) {
      const field = FIELDS[Math.floor(rand() * FIELDS.length)] as string;
      patch[field] = valueFor(field, rand());
    }
    return patch;
  });
}

interface Outcome {
  seconds: number;
  messages: number;
  payloadBytes: number;
}

const ids = Array.from({ length: AGENTS }, (_, i) => `robot-${i}`);
const tagOf = (i: number) => (i % 2 === 0 ? 'navigation' : 'low_battery');
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Agentfleet: deltas of the changed relevant fields. `measureBytes` JSON-encodes each payload. */
async function deltas(patches: Array<Record<string, unknown>>, updates: number, measureBytes: boolean) {
  const bus = createBus();
  const store = await createStateStore({ bus, config: { relevance: RELEVANCE } });
  let messages = 0;
  let payloadBytes = 0;
  await bus.subscribe(
    'agent.*.state_delta',
    (m) => {
      messages++;
      if (measureBytes) payloadBytes += Buffer.byteLength(JSON.stringify(m.payload));
    },
    { buffer: 65_536 },
  );
  for (let i = 0; i < AGENTS; i++) store.setTags(ids[i] as string, [tagOf(i)]);
  await turn();
  messages = payloadBytes = 0;
  const start = performance.now();
  for (let i = 0; i < updates; i++) {
    store.set(ids[i % AGENTS] as string, patches[i % PATCHES] as Record<string, unknown>);
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await turn();
  }
  await turn();
  const seconds = (performance.now() - start) / 1000;
  const published = store.stats().deltasPublished - AGENTS;
  if (published !== messages) throw new Error(`lost deltas: ${messages} of ${published}`);
  await store.close();
  await bus.close();
  return { seconds, messages, payloadBytes } satisfies Outcome;
}

/** The store's own cost: the same updates with no bus. */
async function storeOnly(patches: Array<Record<string, unknown>>, updates: number): Promise<number> {
  const store = await createStateStore({ config: { relevance: RELEVANCE } });
  for (let i = 0; i < AGENTS; i++) store.setTags(ids[i] as string, [tagOf(i)]);
  const start = performance.now();
  for (let i = 0; i < updates; i++) {
    store.set(ids[i % AGENTS] as string, patches[i % PATCHES] as Record<string, unknown>);
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await turn();
  }
  const seconds = (performance.now() - start) / 1000;
  await store.close();
  return seconds;
}

/** Naive: merge, then publish the whole state (a copy) every time. */
async function fullState(patches: Array<Record<string, unknown>>, updates: number, measureBytes: boolean) {
  const bus = createBus();
  const states = new Map<string, { agentId: string; version: number; tags: string[]; values: object }>();
  let messages = 0;
  let payloadBytes = 0;
  await bus.subscribe(
    'agent.*.state',
    (m) => {
      messages++;
      if (measureBytes) payloadBytes += Buffer.byteLength(JSON.stringify(m.payload));
    },
    { buffer: 65_536 },
  );
  for (let i = 0; i < AGENTS; i++) {
    const agentId = ids[i] as string;
    states.set(agentId, { agentId, version: 0, tags: [tagOf(i)], values: {} });
  }
  const start = performance.now();
  for (let i = 0; i < updates; i++) {
    const agentId = ids[i % AGENTS] as string;
    const state = states.get(agentId)!;
    state.values = { ...state.values, ...(patches[i % PATCHES] as Record<string, unknown>) };
    state.version++;
    void bus.publish(`agent.${agentId}.state`, { ...state });
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await turn();
  }
  await turn();
  const seconds = (performance.now() - start) / 1000;
  if (messages !== updates) throw new Error(`lost messages: ${messages} of ${updates}`);
  await bus.close();
  return { seconds, messages, payloadBytes } satisfies Outcome;
}

export async function runStateSyncBench(): Promise<BenchReport> {
  const patches = makePatches();
  // Payload sizes (JSON, as a wire codec would send them) from an untimed run of the first 200k.
  const sample = PATCHES;
  const deltaBytes = (await deltas(patches, sample, true)).payloadBytes / sample;
  const fullBytes = (await fullState(patches, sample, true)).payloadBytes / sample;
  // Warm-up (JIT), then one measured run each.
  await deltas(patches, 300_000, false);
  await fullState(patches, 300_000, false);
  await storeOnly(patches, 300_000);
  const ours = await deltas(patches, UPDATES, false);
  const naive = await fullState(patches, UPDATES, false);
  const alone = await storeOnly(patches, UPDATES);
  const row = (name: string, o: Outcome, bytesPerUpdate: number) => ({
    approach: name,
    'updates/s': Math.round(UPDATES / o.seconds),
    'messages/s': Math.round(o.messages / o.seconds),
    'messages/update': round(o.messages / UPDATES, 3),
    'JSON bytes/update': round(bytesPerUpdate, 1),
    'MB published (1M updates)': round((bytesPerUpdate * UPDATES) / 1e6, 1),
  });
  return {
    name: 'state-sync',
    measures: `${AGENTS.toLocaleString()} agents, ${UPDATES.toLocaleString()} patches of 3/8 fields (4 relevant per tag), in-memory bus, 1 subscriber`,
    rows: [
      row('agentfleet deltas', ours, deltaBytes),
      row('naive full state', naive, fullBytes),
      {
        ...row('agentfleet store, no bus', { seconds: alone, messages: 0, payloadBytes: 0 }, 0),
        'JSON bytes/update': '-',
        'MB published (1M updates)': '-',
      },
    ],
    figures: {
      updatesPerSec: Math.round(UPDATES / ours.seconds),
      deltasPerSec: Math.round(ours.messages / ours.seconds),
      naiveUpdatesPerSec: Math.round(UPDATES / naive.seconds),
      storeOnlyUpdatesPerSec: Math.round(UPDATES / alone),
      updateRateVsNaive: round(naive.seconds / ours.seconds),
      messagesVsNaive: round(ours.messages / naive.messages, 3),
      deltaBytesPerUpdate: round(deltaBytes, 1),
      fullBytesPerUpdate: round(fullBytes, 1),
      payloadReductionPct: round((1 - deltaBytes / fullBytes) * 100, 1),
    },
  };
}

if (import.meta.main) printReport(await runStateSyncBench());

// Provenance: what recording every decision costs the agent loop, and how fast the auditor's
// two questions are answered over many records.
// 1. The LLM loop on a scripted in-process model (no network: the loop's own CPU is all there
//    is), each message: 4 retrieved passages, one tool call, then the answer. The same workload
//    with provenance off and on (the SQLite default, batched, the final flush included),
//    alternating rounds, best of each; the figure is the CPU difference per decision.
// 2. BENCH_PROVENANCE_RECORDS records (default 1,000,000; 10 tenants, 4 passages each over
//    20,000 documents, 5 model versions, 30 days) appended in bulk through the store (chained),
//    then "which decisions used document X" and "which answers came from model version Y on
//    one day", each asked for many X / days (median, p99; at most 1,000 records a page).
// Env: BENCH_PROVENANCE_DECISIONS (default 20,000 per round), BENCH_PROVENANCE_RECORDS.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { withTenant } from '../src/context/index.ts';
import { llm } from '../src/llm-agent/index.ts';
import {
  type DecisionDraft,
  ProvenanceRecorder,
  provenanceQuerySchema,
  SqliteProvenanceStore,
  sha256,
} from '../src/provenance/index.ts';
import { defineTool } from '../src/tools/index.ts';
import { scriptedProvider, toolLoop } from '../test/scripted-provider.ts';
import { type BenchReport, round } from './report.ts';

const DECISIONS = Number(process.env.BENCH_PROVENANCE_DECISIONS ?? 20_000);
const RECORDS = Number(process.env.BENCH_PROVENANCE_RECORDS ?? 1_000_000);
const ROUNDS = 3;
const CONCURRENCY = 64;
const DAY = 86_400_000;

const passages = [0, 1, 2, 3].map((i) => ({
  documentId: `doc-${i}`,
  chunk: i,
  text: 'A passage of a document about refunds and their limits.',
  score: 0.9 - i / 10,
}));

/** CPU ms of `DECISIONS` messages through the loop, provenance on or off. */
async function loopRound(on: boolean, dir: string): Promise<number> {
  const store = on ? await SqliteProvenanceStore.open({ path: join(dir, 'loop.db') }) : undefined;
  const recorder = store === undefined ? undefined : new ProvenanceRecorder({ store });
  const lookup = defineTool({
    name: 'lookup',
    description: 'Look up an order',
    parameters: z.object({ id: z.string() }),
    execute: ({ id }) => `order ${id}: shipped`,
  });
  const brain = llm({
    provider: scriptedProvider(toolLoop('lookup', 1, () => ({ id: '42' }))),
    model: 'scripted',
    system: 'You answer questions about orders.',
    tools: [lookup],
    knowledge: { base: { search: async () => passages } },
    ...(recorder === undefined ? {} : { provenance: recorder }),
  });
  const signal = new AbortController().signal;
  let next = 0;
  global.gc?.();
  const cpu = process.cpuUsage();
  await withTenant('acme', () =>
    Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, w) => {
        while (next < DECISIONS) {
          const i = next++;
          await brain.decide(`where is order ${i}?`, {
            agentId: `agent-${w}`,
            signal,
            definition: 'desk',
            version: 'v1',
          });
        }
      }),
    ),
  );
  await recorder?.close();
  const used = process.cpuUsage(cpu);
  await brain.close();
  if (store !== undefined) {
    const written = recorder?.stats().written ?? 0;
    if (written !== DECISIONS) throw new Error(`provenance wrote ${written} of ${DECISIONS}`);
    await store.close();
    rmSync(join(dir, 'loop.db'), { force: true });
    rmSync(join(dir, 'loop.db-wal'), { force: true });
    rmSync(join(dir, 'loop.db-shm'), { force: true });
  }
  return (used.user + used.system) / 1000;
}

const MODEL_VERSIONS = ['gpt-x-2026-01', 'gpt-x-2026-03', 'gpt-x-2026-06', 'gpt-x-2026-09', 'gpt-x-2026-11'];
const DOCUMENTS = 20_000;
const TENANTS = 10;
const START = Date.UTC(2026, 10, 1);

function bulkDraft(i: number): DecisionDraft {
  const doc = (k: number) => `doc-${(i * 7 + k * 4099) % DOCUMENTS}`;
  return {
    tenant: `t${i % TENANTS}`,
    id: `d${i}`,
    at: START + Math.floor((i / RECORDS) * 30 * DAY),
    agentId: `agent-${i % 100}`,
    runId: null,
    definition: 'desk',
    specVersion: 'v1',
    provider: 'openai',
    model: 'gpt-x',
    modelVersion: MODEL_VERSIONS[Math.floor(i / 7) % MODEL_VERSIONS.length] ?? null,
    promptHash: sha256('prompt'),
    inputHash: sha256(`input ${i}`),
    passages: [0, 1, 2, 3].map((k) => ({ documentId: doc(k), chunk: k, documentVersion: null, score: 0.5 })),
    toolCalls: [],
    inputTokens: 500,
    outputTokens: 80,
    usageReported: true,
    cost: null,
    latencyMs: 800,
    steps: 1,
    stoppedBy: 'answer',
    errorCode: null,
    traceId: null,
    spanId: null,
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function timed(
  times: number,
  fn: (i: number) => Promise<number>,
): Promise<{ p50: number; p99: number; rows: number }> {
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    rows += await fn(i);
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), rows: rows / times };
}

export async function runProvenanceBench(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'af-prov-bench-'));
  try {
    await loopRound(false, dir); // warm-up
    await loopRound(true, dir);
    let off = Number.POSITIVE_INFINITY;
    let on = Number.POSITIVE_INFINITY;
    for (let r = 0; r < ROUNDS; r++) {
      off = Math.min(off, await loopRound(false, dir));
      on = Math.min(on, await loopRound(true, dir));
    }
    const offPer = off / DECISIONS;
    const onPer = on / DECISIONS;

    const path = join(dir, 'audit.db');
    const store = await SqliteProvenanceStore.open({ path });
    const loadStart = performance.now();
    for (let i = 0; i < RECORDS; i += 5000) {
      const batch: DecisionDraft[] = [];
      for (let j = i; j < Math.min(RECORDS, i + 5000); j++) batch.push(bulkDraft(j));
      await store.append(batch);
    }
    const loadMs = performance.now() - loadStart;
    const sizeMB = statSync(path).size / 2 ** 20;
    const byDocument = await timed(200, async (i) => {
      const q = provenanceQuerySchema.parse({ document: `doc-${(i * 97) % DOCUMENTS}`, limit: 1000 });
      return (await store.query(`t${i % TENANTS}`, q)).records.length;
    });
    const byModelDay = await timed(60, async (i) => {
      const day = START + (i % 30) * DAY;
      const q = provenanceQuerySchema.parse({
        modelVersion: MODEL_VERSIONS[i % MODEL_VERSIONS.length],
        from: day,
        to: day + DAY,
        limit: 1000,
      });
      return (await store.query(`t${i % TENANTS}`, q)).records.length;
    });
    const verifyStart = performance.now();
    const chain = await store.verify('t0');
    const verifyMs = performance.now() - verifyStart;
    await store.close();

    const rows: BenchReport['rows'] = [
      { measure: 'loop CPU ms per decision, provenance off', value: round(offPer, 4) },
      { measure: 'loop CPU ms per decision, provenance on (SQLite)', value: round(onPer, 4) },
      { measure: 'provenance CPU ms per decision (on − off)', value: round(onPer - offPer, 4) },
      {
        measure: `bulk append of ${RECORDS} records, records/s`,
        value: Math.round(RECORDS / (loadMs / 1000)),
      },
      { measure: 'database size MB', value: round(sizeMB, 1) },
      { measure: '"used document X": p50 ms', value: round(byDocument.p50, 3) },
      { measure: '"used document X": p99 ms', value: round(byDocument.p99, 3) },
      { measure: '"used document X": records per answer', value: round(byDocument.rows, 1) },
      { measure: '"model version Y on day D": p50 ms', value: round(byModelDay.p50, 3) },
      { measure: '"model version Y on day D": p99 ms', value: round(byModelDay.p99, 3) },
      {
        measure: '"model version Y on day D": records per answer (page ≤ 1000)',
        value: round(byModelDay.rows, 1),
      },
      { measure: `verify one tenant's chain (${chain.records} records) ms`, value: Math.round(verifyMs) },
    ];
    return {
      name: 'provenance',
      measures: `provenance CPU per LLM decision (on vs off, ${DECISIONS} decisions), and the auditor's queries over ${RECORDS} records`,
      rows,
      figures: {
        decisions: DECISIONS,
        cpuMsPerDecisionOff: round(offPer, 4),
        cpuMsPerDecisionOn: round(onPer, 4),
        provenanceCpuMsPerDecision: round(onPer - offPer, 4),
        provenanceWithinTarget: onPer - offPer <= 0.05,
        records: RECORDS,
        appendRecordsPerSec: Math.round(RECORDS / (loadMs / 1000)),
        databaseMB: round(sizeMB, 1),
        byDocumentP50Ms: round(byDocument.p50, 3),
        byDocumentP99Ms: round(byDocument.p99, 3),
        byModelVersionDayP50Ms: round(byModelDay.p50, 3),
        byModelVersionDayP99Ms: round(byModelDay.p99, 3),
        verifyChainOk: chain.ok,
        verifyMsPerRecord: round(verifyMs / Math.max(1, chain.records), 4),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

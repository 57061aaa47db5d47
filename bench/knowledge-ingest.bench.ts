// Knowledge ingestion of a 1 MB document: the longest event-loop stall while it is ingested
// (perf_hooks.monitorEventLoopDelay), with the HashingEmbedder on the calling thread (the
// baseline: how every version before this one embedded) and with the default (large batches on
// a worker thread); and the disk amplification of repeated upserts of that document with the
// default compaction settings. Run: `npm run bench -- knowledge-ingest`.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HashingEmbedder, KnowledgeBase } from '../src/knowledge/index.ts';
import { type BenchReport, round } from './report.ts';

const DOC_BYTES = 1_000_000;
const ROUNDS = Number(process.env.KNOWLEDGE_INGEST_ROUNDS ?? 5);
const REPEATS = Number(process.env.KNOWLEDGE_INGEST_REPEATS ?? 30);

function document(seed: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < DOC_BYTES; i++) {
    const s = `Section ${seed}.${i} explains how widget ${i % 97} is calibrated, cleaned and stored. `;
    parts.push(i % 12 === 11 ? `${s}\n\n` : s);
    size += s.length;
  }
  return parts.join('').slice(0, DOC_BYTES);
}

interface Stall {
  /** The longest stall of each ingestion, median over the rounds (robust to a noisy machine). */
  medianMaxDelayMs: number;
  /** …and the worst over all rounds. */
  maxDelayMs: number;
  ingestMs: number;
}

/** Ingests one 1 MB document per round into a fresh in-memory base; the worst stall seen. */
async function stall(offloadChars: number | undefined, directory?: string): Promise<Stall> {
  const embedder = new HashingEmbedder(offloadChars === undefined ? {} : { offloadChars });
  const kb = await KnowledgeBase.open({
    embedder,
    ...(directory === undefined ? {} : { directory }),
    maxBytesPerTenant: 1 << 30,
  });
  await kb.upsert({ tenant: 'acme', id: 'warm', text: document(-1) }); // JIT and worker start
  const maxima: number[] = [];
  let ingestMs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const text = document(r);
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    await sleep(20); // the monitor measures from its first sample on
    const start = performance.now();
    await kb.upsert({ tenant: 'acme', id: `doc-${r}`, text });
    ingestMs = Math.min(ingestMs, performance.now() - start);
    await sleep(20); // and records a stall at the sample after it
    histogram.disable();
    maxima.push(histogram.max / 1e6);
  }
  await kb.close();
  await embedder.close();
  maxima.sort((a, b) => a - b);
  return { medianMaxDelayMs: maxima[maxima.length >> 1]!, maxDelayMs: maxima.at(-1)!, ingestMs };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bytesIn(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

export async function runKnowledgeIngestBench(): Promise<BenchReport> {
  const root = mkdtempSync(join(tmpdir(), 'af-kingest-'));
  try {
    const baseline = await stall(Number.POSITIVE_INFINITY);
    const offloaded = await stall(undefined);
    const persisted = await stall(undefined, join(root, 'stall'));
    const dir = join(root, 'repeat');
    const kb = await KnowledgeBase.open({ directory: dir, maxBytesPerTenant: 1 << 30 });
    const text = document(0);
    let peak = 0;
    for (let i = 0; i < REPEATS; i++) {
      await kb.upsert({ tenant: 'acme', id: 'manual', text: `${text.slice(0, -12)} rev ${i}` });
      peak = Math.max(peak, bytesIn(dir));
    }
    const { liveBytes, compactions } = kb.storage;
    await kb.close();
    const finalBytes = bytesIn(dir);
    const row = (setting: string, s: Stall) => ({
      setting,
      median_max_loop_delay_ms: round(s.medianMaxDelayMs, 1),
      worst_loop_delay_ms: round(s.maxDelayMs, 1),
      ingest_ms: round(s.ingestMs, 0),
    });
    return {
      name: 'knowledge-ingest',
      measures: `longest event-loop stall while a 1 MB document is ingested (median and worst of ${ROUNDS}); disk bytes after ${REPEATS} upserts of it`,
      rows: [
        row('baseline: embedding on the event loop (offloadChars: Infinity)', baseline),
        row('default: large batches on a worker thread', offloaded),
        row('default, with a directory (synced log)', persisted),
        {
          setting: `${REPEATS} upserts of one 1 MB document, default compaction`,
          median_max_loop_delay_ms: '',
          worst_loop_delay_ms: '',
          ingest_ms: '',
          live_mb: round(liveBytes / 1e6, 1),
          peak_disk_mb: round(peak / 1e6, 1),
          final_disk_mb: round(finalBytes / 1e6, 1),
          compactions,
        },
      ],
      figures: {
        baselineMaxLoopDelayMs: round(baseline.medianMaxDelayMs, 1),
        offloadedMaxLoopDelayMs: round(offloaded.medianMaxDelayMs, 1),
        persistedMaxLoopDelayMs: round(persisted.medianMaxDelayMs, 1),
        baselineWorstLoopDelayMs: round(baseline.maxDelayMs, 1),
        offloadedWorstLoopDelayMs: round(offloaded.maxDelayMs, 1),
        persistedWorstLoopDelayMs: round(persisted.maxDelayMs, 1),
        maxLoopDelayReduction: round(baseline.medianMaxDelayMs / offloaded.medianMaxDelayMs, 2),
        baselineIngestMs: round(baseline.ingestMs, 0),
        offloadedIngestMs: round(offloaded.ingestMs, 0),
        repeatedUpsertPeakAmplification: round(peak / liveBytes, 2),
        repeatedUpsertFinalAmplification: round(finalBytes / liveBytes, 2),
      },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printReport } = await import('./report.ts');
  printReport(await runKnowledgeIngestBench());
}

// Knowledge vector search: 100,000 L2-normalised 768-d vectors (two datasets: i.i.d. random, and
// 1,000 clusters), 1,000 queries from the same distribution, recall@10 against an exact top 10
// computed once with a plain Float64 loop (cached in .bench-out/knowledge-cache/).
// - Exact: a naive Float32Array loop, hnswlib-node's BruteforceSearch and our ExactIndex, one
//   query at a time (QPS, p50/p99) and as a batch of every query (our searchBatch).
// - Approximate: hnswlib-node and usearch HNSW (M=16, efConstruction=200) and our HnswIndex:
//   build time, memory per vector, and recall@10/QPS for ef 16…2048 (one query at a time).
// - The HashingEmbedder's ingest throughput on ~1,000-character documents.
// Every index is built in a fresh process (memory deltas after GC); contenders run one after
// another. KNOWLEDGE_BENCH_N / KNOWLEDGE_BENCH_Q shrink the run (e.g. 20000 / 200);
// KNOWLEDGE_BENCH_EXACT_Q caps the exact single-query sample (default 200, the naive scan is
// slow). usearch's batch add runs on its default thread count (every CPU: 2 here), as a user
// gets it; KNOWLEDGE_BENCH_USEARCH_1T=1 adds a single-threaded usearch build (≈ +9 min at full size).
import { cpus } from 'node:os';
import {
  APPROXIMATE,
  type ContenderName,
  EF_CONSTRUCTION,
  EF_SEARCH,
  EXACT,
  HNSW_M,
  PEERS,
} from './knowledge/contenders.ts';
import { DATASETS, type DatasetName, DIMENSIONS, K, prepareDataset, sizes } from './knowledge/data.ts';
import { type EmbedderMeasured, inChild, type Measured } from './knowledge/measure.ts';
import { type BenchReport, printReport, round } from './report.ts';

const RECALL_TARGET = 0.95;
const EMBED_DOCS = 5_000;

const LABEL: Record<ContenderName, string> = {
  naive: 'naive Float32Array loop',
  'hnswlib-brute': 'hnswlib-node BruteforceSearch',
  'ours-exact': 'ours ExactIndex',
  'ours-exact-2t': 'ours ExactIndex (2 threads)',
  'hnswlib-hnsw': 'hnswlib-node HNSW',
  usearch: `usearch HNSW (${cpus().length} threads)`,
  'usearch-1t': 'usearch HNSW (1 thread)',
  'ours-hnsw': 'ours HnswIndex',
};

/** Figure-name part of each approximate contender. */
const TAG: Partial<Record<ContenderName, string>> = {
  'hnswlib-hnsw': 'Hnswlib',
  usearch: 'Usearch',
  'usearch-1t': 'Usearch1t',
  'ours-hnsw': 'OursHnsw',
};

const log = (line: string) => process.stderr.write(`[knowledge] ${line}\n`);

type Row = Record<string, string | number>;

/** The best single-query QPS among ef settings reaching the recall target. */
function bestAtTarget(m: Measured): { qps: number; recall: number; ef: number } | undefined {
  let best: { qps: number; recall: number; ef: number } | undefined;
  for (const point of m.sweep ?? []) {
    if (point.recall >= RECALL_TARGET && (best === undefined || point.qps > best.qps)) {
      best = { qps: point.qps, recall: point.recall, ef: point.ef };
    }
  }
  return best;
}

function buildRow(dataset: string, m: Measured): Row {
  const perVector = (bytes: number) => Math.round(bytes / m.n) || 0; // no -0
  return {
    dataset,
    impl: LABEL[m.contender],
    setting: 'build',
    build_s: round(m.buildSeconds, 1),
    build_cpu_s: round(m.buildCpuSeconds, 1),
    bytes_per_vector: perVector(m.memory.rss),
    heap_bytes_per_vector: perVector(m.memory.heapUsed),
    external_bytes_per_vector: perVector(m.memory.external),
    ...(m.reportedBytesPerVector === undefined
      ? {}
      : { reported_bytes_per_vector: m.reportedBytesPerVector }),
    note: `${m.note ?? ''}${m.note ? '; ' : ''}load ${m.load[0].toFixed(1)}→${m.load[1].toFixed(1)}`,
  };
}

export async function runKnowledgeBench(): Promise<BenchReport> {
  const { n, q } = sizes();
  const exactQ = Math.min(q, Number(process.env.KNOWLEDGE_BENCH_EXACT_Q ?? 200));
  const contenders = [...EXACT, ...APPROXIMATE].filter(
    (c) => c !== 'usearch-1t' || process.env.KNOWLEDGE_BENCH_USEARCH_1T === '1',
  );
  const started = performance.now();
  const rows: Row[] = [];
  const figures: BenchReport['figures'] = {
    vectors: n,
    queries: q,
    exactSingleQueries: exactQ,
    dimensions: DIMENSIONS,
    k: K,
    hnswM: HNSW_M,
    hnswEfConstruction: EF_CONSTRUCTION,
    /** usearch's default: std::thread::hardware_concurrency(), the online CPU count. */
    usearchAddThreads: cpus().length,
  };
  let maxLoad = 0;
  for (const dataset of DATASETS) {
    await prepareDataset(dataset, n, q);
    const results = new Map<ContenderName, Measured>();
    for (const c of contenders) {
      log(`${dataset}/${c}: starting (${((performance.now() - started) / 1000).toFixed(0)} s into the run)`);
      try {
        const m = inChild<Measured>([c, dataset, String(n), String(q), String(exactQ)]);
        results.set(c, m);
        maxLoad = Math.max(maxLoad, ...m.load);
      } catch (error) {
        log(`${dataset}/${c}: FAILED: ${(error as Error).message}`);
        rows.push({
          dataset,
          impl: LABEL[c],
          setting: 'failed',
          note: (error as Error).message.slice(0, 200),
        });
      }
    }
    addRows(rows, dataset, results);
    addFigures(figures, dataset, results);
  }
  log('embedder: starting');
  const embed = inChild<EmbedderMeasured>(['embedder', String(EMBED_DOCS)]);
  rows.push({
    dataset: '-',
    impl: 'ours HashingEmbedder',
    setting: `embed ${embed.docs} docs, ${round(embed.bytes / 1e6, 1)} MB`,
    docs_per_s: Math.round(embed.docsPerSec),
    mb_per_s: round(embed.mbPerSec, 2),
  });
  figures.embedderDocsPerSec = Math.round(embed.docsPerSec);
  figures.embedderMBPerSec = round(embed.mbPerSec, 2);
  figures.maxLoadAverage1m = round(maxLoad, 1);
  figures.runSeconds = Math.round((performance.now() - started) / 1000);
  return {
    name: 'knowledge',
    measures:
      `vector search over ${n.toLocaleString()} × ${DIMENSIONS}-d normalised vectors (random, clustered), ` +
      `${q} queries, recall@${K} vs exact; exact, HNSW ef sweep, build, memory; HashingEmbedder ingest`,
    rows,
    figures,
  };
}

function addRows(rows: Row[], dataset: DatasetName, results: Map<ContenderName, Measured>): void {
  for (const [c, m] of results) {
    rows.push(buildRow(dataset, m));
    if (m.single !== undefined) {
      rows.push({
        dataset,
        impl: LABEL[c],
        setting: `exact single (${m.single.queries} q)`,
        qps: round(m.single.qps, 1),
        p50_ms: round(m.single.p50Ms, 3),
        p99_ms: round(m.single.p99Ms, 3),
        recall10: round(m.single.recall, 4),
      });
    }
    if (EXACT.includes(c)) {
      if (m.batch !== undefined) {
        rows.push({
          dataset,
          impl: LABEL[c],
          setting: `exact batch (${m.batch.queries} q)`,
          qps: round(m.batch.qps, 1),
          recall10: round(m.batch.recall, 4),
          note: m.batch.loop
            ? 'a loop of single searches: same measurement as the single row'
            : 'searchBatch(all, 10)',
        });
      }
    }
    for (const point of m.sweep ?? []) {
      rows.push({
        dataset,
        impl: LABEL[c],
        setting: `ef=${point.ef}`,
        qps: round(point.qps, 0),
        p50_ms: round(point.p50Ms, 3),
        p99_ms: round(point.p99Ms, 3),
        recall10: round(point.recall, 4),
      });
    }
    if (m.sweep !== undefined) {
      const best = bestAtTarget(m);
      rows.push({
        dataset,
        impl: LABEL[c],
        setting: `best @recall≥${RECALL_TARGET}`,
        ...(best === undefined
          ? { note: `no ef up to ${EF_SEARCH.at(-1)} reaches recall ${RECALL_TARGET}` }
          : { qps: round(best.qps, 0), recall10: round(best.recall, 4), note: `ef=${best.ef}` }),
      });
    }
  }
}

function addFigures(
  figures: BenchReport['figures'],
  dataset: DatasetName,
  results: Map<ContenderName, Measured>,
) {
  const key = (name: string) => `${dataset}${name}`;
  const single = (c: ContenderName) => results.get(c)?.single?.qps;
  const put = (name: string, value: number | undefined, digits = 1) => {
    if (value !== undefined && Number.isFinite(value)) figures[key(name)] = round(value, digits);
  };
  put('NaiveExactQps', single('naive'));
  put('HnswlibBruteExactQps', single('hnswlib-brute'));
  put('OursExactQps', single('ours-exact'));
  put('OursExactP50Ms', results.get('ours-exact')?.single?.p50Ms, 3);
  put('OursExactRecall10', results.get('ours-exact')?.single?.recall, 4);
  put('OursExactBatchQps', results.get('ours-exact')?.batch?.qps);
  const exact = results.get('ours-exact');
  if (exact !== undefined) put('OursExactBytesPerVector', exact.memory.rss / exact.n, 0);
  const brute = single('hnswlib-brute');
  const oursExact = single('ours-exact');
  if (brute !== undefined && oursExact !== undefined)
    put('OursExactVsHnswlibBruteQpsRatio', oursExact / brute, 2);
  const oursExact2t = single('ours-exact-2t');
  put('OursExact2ThreadsQps', oursExact2t);
  put('OursExact2ThreadsBatchQps', results.get('ours-exact-2t')?.batch?.qps);
  if (brute !== undefined && oursExact2t !== undefined)
    put('OursExact2ThreadsVsHnswlibBruteQpsRatio', oursExact2t / brute, 2);

  // Approximate: best QPS at recall ≥ 0.95, build time and memory, ours against the peers.
  const ours = results.get('ours-hnsw');
  const oursBest = ours === undefined ? undefined : bestAtTarget(ours);
  let bestPeer: { name: ContenderName; qps: number } | undefined;
  let fastestPeer: { name: ContenderName; seconds: number } | undefined;
  let leanestPeer: { name: ContenderName; cpuSeconds: number } | undefined;
  for (const c of APPROXIMATE) {
    const m = results.get(c);
    if (m === undefined) continue;
    const tag = TAG[c];
    const best = bestAtTarget(m);
    figures[key(`${tag}QpsAtRecall95`)] = best === undefined ? 'none' : Math.round(best.qps);
    put(`${tag}BuildSeconds`, m.buildSeconds);
    put(`${tag}BuildCpuSeconds`, m.buildCpuSeconds);
    put(`${tag}BytesPerVector`, m.memory.rss / m.n, 0);
    const top = m.sweep?.at(-1);
    if (top !== undefined) put(`${tag}RecallAtEf${top.ef}`, top.recall, 4);
    if (!PEERS.includes(c)) continue;
    if (best !== undefined && (bestPeer === undefined || best.qps > bestPeer.qps))
      bestPeer = { name: c, qps: best.qps };
    if (fastestPeer === undefined || m.buildSeconds < fastestPeer.seconds) {
      fastestPeer = { name: c, seconds: m.buildSeconds };
    }
    if (leanestPeer === undefined || m.buildCpuSeconds < leanestPeer.cpuSeconds) {
      leanestPeer = { name: c, cpuSeconds: m.buildCpuSeconds };
    }
  }
  figures[key('BestPeerAtRecall95')] = bestPeer?.name ?? 'none';
  if (oursBest !== undefined && bestPeer !== undefined) {
    put('OursVsBestPeerQpsRatioAtRecall95', oursBest.qps / bestPeer.qps, 2);
  }
  if (ours !== undefined && fastestPeer !== undefined) {
    figures[key('FastestPeerBuild')] = fastestPeer.name;
    put('OursVsFastestPeerBuildTimeRatio', ours.buildSeconds / fastestPeer.seconds, 2);
  }
  if (ours !== undefined && leanestPeer !== undefined) {
    // Per core: CPU seconds, as our build is single-threaded and usearch's default is not.
    figures[key('LeanestPeerBuild')] = leanestPeer.name;
    put('OursVsLeanestPeerBuildCpuRatio', ours.buildCpuSeconds / leanestPeer.cpuSeconds, 2);
  }
}

if (import.meta.main) printReport(await runKnowledgeBench());

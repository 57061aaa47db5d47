// Knowledge base reopen: a store of N 768-d vectors (the clustered dataset of knowledge.bench.ts,
// 100,000 by default) with index 'hnsw', opened with its saved graph (hnsw.graph) and, as the
// baseline in the same run, with the graph file removed (the graph rebuilt from the stored
// vectors, what every open did before the graph was saved). Each phase runs in a fresh process:
// build (upserts, compact, close), open with the graph, open rebuilding. Reported: open seconds,
// recall@10 against the exact top 10 (default efSearch 64) before closing and after each open,
// and whether the reopened index returns the very same hits. KNOWLEDGE_REOPEN_N / _Q shrink it.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { KnowledgeBase } from '../src/knowledge/index.ts';
import type { Embedder } from '../src/llm/index.ts';
import { runChild } from './child.ts';
import { DIMENSIONS, K, loadDataset, prepareDataset, recallAt } from './knowledge/data.ts';
import { type BenchReport, printReport, round } from './report.ts';

/** Chunks per document: N / 100 upserts (each synced to disk) instead of N. */
const CHUNKS_PER_DOC = 100;
const TENANT = 'bench';
const GRAPH_FILE = 'hnsw.graph';

const log = (line: string) => process.stderr.write(`[knowledge-reopen] ${line}\n`);

interface Phase {
  seconds: number;
  recall10: number;
  /** CRC-32 of every query's hit ids and scores, in order. */
  answers: string;
  vectors: number;
  graphBytes?: number;
  closeSeconds?: number;
}

function sizes(): { n: number; q: number } {
  const n = Number(process.env.KNOWLEDGE_REOPEN_N ?? 100_000);
  const q = Number(process.env.KNOWLEDGE_REOPEN_Q ?? 200);
  if (
    !Number.isInteger(n) ||
    n < CHUNKS_PER_DOC ||
    n % CHUNKS_PER_DOC !== 0 ||
    !Number.isInteger(q) ||
    q < 1
  ) {
    throw new RangeError(
      `KNOWLEDGE_REOPEN_N (${n}) must be a multiple of ${CHUNKS_PER_DOC}, _Q (${q}) positive`,
    );
  }
  return { n, q };
}

/** Chunk texts are row numbers (`r000123`), one per chunk; the embedder returns that row of the dataset. */
function datasetEmbedder(base: Float32Array, n: number): Embedder {
  return {
    dimensions: DIMENSIONS,
    id: `bench:clustered:${n}`,
    embed: async (texts) =>
      texts.map((t) => {
        const row = Number(t.slice(1));
        return base.subarray(row * DIMENSIONS, (row + 1) * DIMENSIONS);
      }),
  };
}
const CHUNKING = { maxChars: 8, overlapChars: 0 };
const rowText = (row: number) => `r${String(row).padStart(6, '0')}`;

function openBase(directory: string, base: Float32Array, n: number): Promise<KnowledgeBase> {
  return KnowledgeBase.open({
    directory,
    embedder: datasetEmbedder(base, n),
    index: 'hnsw',
    chunking: CHUNKING,
  });
}

function answer(kb: KnowledgeBase, queries: Float32Array, truth: Int32Array, q: number) {
  let recall = 0;
  let crc = 0;
  for (let qi = 0; qi < q; qi++) {
    const hits = kb.searchVector(TENANT, queries.subarray(qi * DIMENSIONS, (qi + 1) * DIMENSIONS), K);
    recall += recallAt(
      truth,
      qi,
      hits.map((h) => Number(h.text.slice(1))),
    );
    crc = crc32(hits.map((h) => `${h.text}:${h.score}`).join(','), crc);
  }
  return { recall10: recall / q, answers: crc.toString(16).padStart(8, '0') };
}

async function child(phase: string, directory: string, n: number, q: number): Promise<Phase> {
  const { base, queries, truth } = loadDataset('clustered', n, q);
  if (phase === 'build') {
    rmSync(directory, { recursive: true, force: true });
    const started = performance.now();
    const kb = await openBase(directory, base, n);
    for (let doc = 0; doc < n / CHUNKS_PER_DOC; doc++) {
      const rows = Array.from({ length: CHUNKS_PER_DOC }, (_, c) => rowText(doc * CHUNKS_PER_DOC + c));
      await kb.upsert({ tenant: TENANT, id: `doc${doc}`, text: rows.join('\n\n') });
      if (doc % 100 === 99) log(`build: ${(doc + 1) * CHUNKS_PER_DOC} vectors`);
    }
    const seconds = (performance.now() - started) / 1000;
    const result = answer(kb, queries, truth, q);
    await kb.compact();
    const closing = performance.now();
    await kb.close();
    const closeSeconds = (performance.now() - closing) / 1000;
    const graphBytes = statSync(join(directory, GRAPH_FILE)).size;
    return { seconds, ...result, vectors: n, graphBytes, closeSeconds };
  }
  if (phase === 'rebuild') rmSync(join(directory, GRAPH_FILE));
  const started = performance.now();
  const kb = await openBase(directory, base, n);
  const seconds = (performance.now() - started) / 1000;
  const result = answer(kb, queries, truth, q);
  await kb.close();
  return { seconds, ...result, vectors: n };
}

export async function runKnowledgeReopenBench(): Promise<BenchReport> {
  const { n, q } = sizes();
  await prepareDataset('clustered', n, q);
  const directory = join('.bench-out', 'knowledge-reopen', `n${n}`);
  const script = fileURLToPath(import.meta.url);
  const run = (phase: string) => {
    log(`${phase}: starting`);
    return runChild<Phase>(script, [phase, directory, String(n), String(q)], [], { progress: true });
  };
  const build = run('build');
  const saved = run('saved-graph');
  const rebuild = run('rebuild');
  rmSync(directory, { recursive: true, force: true });
  const rows = [
    {
      phase: 'build (upserts, before close)',
      seconds: round(build.seconds, 1),
      recall10: round(build.recall10, 4),
      answers: build.answers,
      note: `graph file ${round((build.graphBytes ?? 0) / 1e6, 1)} MB, close (saving it) ${round(build.closeSeconds ?? 0, 1)} s`,
    },
    {
      phase: 'open with the saved graph',
      seconds: round(saved.seconds, 2),
      recall10: round(saved.recall10, 4),
      answers: saved.answers,
      note:
        saved.answers === build.answers
          ? 'the same hits as before closing'
          : 'hits differ from before closing',
    },
    {
      phase: 'open rebuilding the graph (baseline)',
      seconds: round(rebuild.seconds, 1),
      recall10: round(rebuild.recall10, 4),
      answers: rebuild.answers,
      note: 'hnsw.graph removed before the open',
    },
  ];
  return {
    name: 'knowledge-reopen',
    measures: `KnowledgeBase.open of ${n.toLocaleString()} × ${DIMENSIONS}-d vectors (index 'hnsw'): saved graph vs rebuild; recall@${K} of ${q} queries`,
    rows,
    figures: {
      vectors: n,
      queries: q,
      dimensions: DIMENSIONS,
      openWithSavedGraphSeconds: round(saved.seconds, 2),
      openRebuildingGraphSeconds: round(rebuild.seconds, 1),
      openSpeedup: round(rebuild.seconds / saved.seconds, 1),
      recall10BeforeClose: round(build.recall10, 4),
      recall10AfterOpenWithSavedGraph: round(saved.recall10, 4),
      recall10AfterRebuild: round(rebuild.recall10, 4),
      sameAnswersAfterOpenWithSavedGraph: saved.answers === build.answers,
      graphFileBytesPerVector: Math.round((build.graphBytes ?? 0) / n),
      closeSavingGraphSeconds: round(build.closeSeconds ?? 0, 2),
    },
  };
}

if (import.meta.main) {
  const [phase, directory, n, q] = process.argv.slice(2);
  if (phase === undefined) printReport(await runKnowledgeReopenBench());
  else console.log(`RESULT:${JSON.stringify(await child(phase, directory!, Number(n), Number(q)))}`);
}

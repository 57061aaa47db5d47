// One contender on one dataset, in a fresh process (its own heap and native allocations): memory
// before/after the build (after GC), build wall and CPU time, then its searches. Also the
// HashingEmbedder's ingest throughput. Usage:
//   node --expose-gc bench/knowledge/measure.ts <contender> <dataset> <n> <q> <exactQ>
//   node --expose-gc bench/knowledge/measure.ts embedder <docs>
// Prints progress to stderr and one `RESULT:` JSON line on stdout.
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { HashingEmbedder } from '../../src/knowledge/index.ts';
import { seededRandom } from '../../test/helpers.ts';
import { runChild } from '../child.ts';
import { bestOf } from '../report.ts';
import { build, type Contender, type ContenderName, EF_SEARCH, EXACT, splitQueries } from './contenders.ts';
import { CACHE_ROOT, type Dataset, type DatasetName, loadDataset, recallAt } from './data.ts';

export interface Timing {
  queries: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  recall: number;
}

export interface Measured {
  contender: ContenderName;
  dataset: DatasetName;
  n: number;
  buildSeconds: number;
  /** User + system CPU of the build: above buildSeconds means it used more than one thread. */
  buildCpuSeconds: number;
  /** Growth over the build, after GC, in bytes: process.memoryUsage() fields. */
  memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  note?: string;
  reportedBytesPerVector?: number;
  /** 1-minute load average when the process started and ended (2 cores: above ~1 means contention). */
  load: [number, number];
  single?: Timing;
  /** `loop`: the contender has no batch search, so its batch is the single-query loop above. */
  batch?: { queries: number; qps: number; recall: number; loop: boolean };
  sweep?: Array<Timing & { ef: number }>;
}

export interface EmbedderMeasured {
  docs: number;
  bytes: number;
  seconds: number;
  docsPerSec: number;
  mbPerSec: number;
}

const log = (line: string) => process.stderr.write(`[knowledge] ${line}\n`);

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 4; i++) globalThis.gc!();
  return process.memoryUsage();
}

function meanRecall(ds: Dataset, results: ArrayLike<number>[]): number {
  let sum = 0;
  for (let i = 0; i < results.length; i++) sum += recallAt(ds.truth, i, results[i]!);
  return sum / results.length;
}

/** Queries 0..count-1 one at a time, each timed; recall is computed after the clock stops. */
function timeSingle(c: Contender, ds: Dataset, count: number, warmup: number): Timing {
  for (let i = 0; i < Math.min(warmup, count); i++) c.search(i);
  const latencies = new Float64Array(count);
  const results: ArrayLike<number>[] = new Array(count);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    results[i] = c.search(i);
    latencies[i] = performance.now() - t;
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  const pct = (p: number) => latencies[Math.min(count - 1, Math.floor(p * count))]!;
  return {
    queries: count,
    qps: count / seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    recall: meanRecall(ds, results),
  };
}

async function measure(name: ContenderName, dataset: DatasetName, n: number, q: number, exactQ: number) {
  const load0 = loadavg()[0]!;
  const ds = loadDataset(dataset, n, q);
  const queries = splitQueries(ds);
  const scratch = `${CACHE_ROOT}/scratch`;
  mkdirSync(scratch, { recursive: true });
  const before = settle();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const c = await build(name, ds, queries, scratch);
  const buildSeconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const after = settle();
  const out: Measured = {
    contender: name,
    dataset,
    n,
    buildSeconds,
    buildCpuSeconds: (used.user + used.system) / 1e6,
    memory: {
      rss: after.rss - before.rss,
      heapUsed: after.heapUsed - before.heapUsed,
      external: after.external - before.external,
      arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    },
    ...(c.note === undefined ? {} : { note: c.note }),
    ...(c.reportedBytesPerVector === undefined ? {} : { reportedBytesPerVector: c.reportedBytesPerVector }),
    load: [load0, load0],
  };
  log(
    `${dataset}/${name}: built in ${buildSeconds.toFixed(1)} s (CPU ${out.buildCpuSeconds.toFixed(1)} s), ` +
      `rss +${(out.memory.rss / n).toFixed(0)} B/vector`,
  );
  if (EXACT.includes(name)) {
    out.single = timeSingle(c, ds, Math.min(exactQ, q), 3);
    log(
      `${dataset}/${name}: single ${out.single.qps.toFixed(1)} QPS, recall ${out.single.recall.toFixed(4)}`,
    );
    if (c.batchIsLoop === true) {
      // A batch of this contender is a loop of single searches: the single-query loop above is it.
      out.batch = { queries: out.single.queries, qps: out.single.qps, recall: out.single.recall, loop: true };
    } else if (c.searchAll !== undefined) {
      const t = performance.now();
      const results = c.searchAll();
      const seconds = (performance.now() - t) / 1000;
      out.batch = { queries: q, qps: q / seconds, recall: meanRecall(ds, results), loop: false };
      log(
        `${dataset}/${name}: batch of ${q}: ${out.batch.qps.toFixed(1)} QPS, recall ${out.batch.recall.toFixed(4)}`,
      );
    }
  } else {
    out.sweep = [];
    for (const ef of EF_SEARCH) {
      c.setEf!(ef);
      const timing = { ef, ...timeSingle(c, ds, q, Math.min(50, q)) };
      out.sweep.push(timing);
      log(
        `${dataset}/${name}: ef=${ef} ${timing.qps.toFixed(0)} QPS, p50 ${timing.p50Ms.toFixed(3)} ms, ` +
          `recall ${timing.recall.toFixed(4)}`,
      );
    }
  }
  c.dispose?.();
  out.load[1] = loadavg()[0]!;
  return out;
}

const SYLLABLES =
  'ka to ri mon sel ver an tis lo pre dia gen ux form ing tion al com pu ter net work ag ent sys'.split(' ');
const HANZI =
  '的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严';

/** ~`count` documents of ~1,000 characters: English-like words, and a Chinese passage in every fifth. */
function syntheticDocs(count: number): string[] {
  const rand = seededRandom(7);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)]!;
  const word = () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(SYLLABLES)).join('');
  const hanzi = [...HANZI];
  const docs: string[] = [];
  for (let d = 0; d < count; d++) {
    const parts: string[] = [];
    let length = 0;
    while (length < 1_000) {
      let sentence: string;
      if (d % 5 === 0 && rand() < 0.3) {
        sentence = `${Array.from({ length: 15 + Math.floor(rand() * 30) }, () => pick(hanzi)).join('')}。`;
      } else {
        const words = Array.from({ length: 6 + Math.floor(rand() * 12) }, word);
        sentence = `${words.join(' ')}.`;
        sentence = sentence[0]!.toUpperCase() + sentence.slice(1);
      }
      parts.push(sentence);
      length += sentence.length + 1;
    }
    docs.push(parts.join(' ').slice(0, 1_000));
  }
  return docs;
}

async function measureEmbedder(count: number): Promise<EmbedderMeasured> {
  const docs = syntheticDocs(count);
  const bytes = docs.reduce((sum, d) => sum + Buffer.byteLength(d, 'utf8'), 0);
  const embedder = new HashingEmbedder();
  await embedder.embed(docs.slice(0, 200)); // warm up the JIT
  let vectors = 0;
  const ms = await bestOf(3, async () => {
    vectors = (await embedder.embed(docs)).length;
  });
  if (vectors !== count) throw new Error(`embedded ${vectors} of ${count}`);
  const seconds = ms / 1000;
  const out = { docs: count, bytes, seconds, docsPerSec: count / seconds, mbPerSec: bytes / 1e6 / seconds };
  log(`embedder: ${count} docs (${(bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s`);
  return out;
}

/** Runs this script in a fresh Node process with --expose-gc; its progress goes to our stderr. */
export function inChild<T>(args: string[]): T {
  return runChild<T>(fileURLToPath(import.meta.url), args, ['--expose-gc'], { progress: true });
}

if (import.meta.main) {
  const [what, ...rest] = process.argv.slice(2);
  if (globalThis.gc === undefined) throw new Error('run with --expose-gc');
  const result =
    what === 'embedder'
      ? await measureEmbedder(Number(rest[0]))
      : await measure(
          what as ContenderName,
          rest[0] as DatasetName,
          Number(rest[1]),
          Number(rest[2]),
          Number(rest[3]),
        );
  console.log(`RESULT:${JSON.stringify(result)}`);
}

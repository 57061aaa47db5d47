// Autoscaling under a load ramp (issue 20): an agent group whose decide takes a fixed 20 ms
// (setTimeout, concurrency 1 per replica: about 47 msg/s per replica with timer slack), opened
// with 1 replica. A load generator sends through `group.send` at a rate that follows a profile:
// low (30 msg/s, below one replica) → step up to 150 msg/s (needs 4 replicas) → hold → step down
// → an oscillating phase (150 / 20 msg/s, switching every 1.5 s). Two runs in the same process,
// same profile: fixed at 1 replica (without), and with an `Autoscaler` (target tracking on the
// group's mean in-flight + queued messages per replica, sampled every 20 ms by a
// `NodeMetricSource` extra figure; target 1, min 1, max 8, tick 250 ms, cooldown 1 s,
// scale-down stabilisation 3 s) resizing through `groupActuator(group)`. Per run: messages sent,
// answered, rejected (by code), lost (neither answered nor rejected), p50/p99 latency over the
// run and during the step, time from the step until the size first rose and until the p99 of a
// 500 ms window (by send time) was back under 2× the low phase's p99 for the rest of the hold,
// overshoot (max size − 4), size changes during the oscillating phase (flaps), final size.
import { setTimeout as sleep } from 'node:timers/promises';
import { Autoscaler, NodeMetricSource } from '../src/autoscale/index.ts';
import { createRuntime, defineAgent } from '../src/core/index.ts';
import { AgentfleetError } from '../src/errors/index.ts';
import { AgentGroup, groupActuator } from '../src/groups/index.ts';
import { type BenchReport, printReport, round } from './report.ts';

const SERVICE_MS = 20;
const SLICE_MS = 10;
/** The step's rate needs this many replicas (150 msg/s × ~21 ms ≈ 3.2 replicas busy). */
const STEP_NEEDS = 4;
const WINDOW_MS = 500;

interface Phase {
  name: 'low' | 'step' | 'down' | 'oscillate';
  ms: number;
  /** msg/s at `t` ms into the phase. */
  rate: (t: number) => number;
}

const PROFILE: Phase[] = [
  { name: 'low', ms: 4_000, rate: () => 30 },
  { name: 'step', ms: 10_000, rate: () => 150 },
  { name: 'down', ms: 6_000, rate: () => 30 },
  { name: 'oscillate', ms: 12_000, rate: (t) => (Math.floor(t / 1_500) % 2 === 0 ? 150 : 20) },
];

const worker = defineAgent({
  name: 'autoscale-worker',
  concurrency: 1,
  decide: async (n: number) => {
    await sleep(SERVICE_MS);
    return n;
  },
});

interface Sample {
  sentAt: number;
  latencyMs?: number;
  code?: string;
}

interface RunResult {
  name: string;
  samples: Sample[];
  /** Phase start times, relative to the run's start (ms). */
  phaseAt: Record<Phase['name'], number>;
  endAt: number;
  /** (time, size) at every size change, the first at 0. */
  sizes: Array<{ at: number; size: number }>;
  finalSize: number;
  unsettled: number;
  scaleDecisions: number;
}

async function run(name: 'fixed' | 'autoscaled'): Promise<RunResult> {
  const runtime = createRuntime();
  const group = await AgentGroup.open({ runtime, id: `bench-${name}`, definition: worker, replicas: 1 });
  // The metric: mean (in flight + queued) per replica in rotation over the time since the last read.
  let loadSum = 0;
  let loadCount = 0;
  const sampler = setInterval(() => {
    const replicas = group.replicas().filter((r) => r.inRotation);
    if (replicas.length === 0) return;
    let load = 0;
    for (const r of replicas) load += r.inFlight + r.queued;
    loadSum += load / replicas.length;
    loadCount++;
  }, 20);
  sampler.unref();
  const source = new NodeMetricSource({
    runtime,
    extra: {
      'group.loadPerReplica': () => {
        if (loadCount === 0) return undefined;
        const mean = loadSum / loadCount;
        loadSum = 0;
        loadCount = 0;
        return mean;
      },
    },
  });
  let scaleDecisions = 0;
  const samples: Sample[] = [];
  const pending = new Set<Promise<unknown>>();
  const start = performance.now();
  const autoscaler =
    name === 'autoscaled'
      ? new Autoscaler({
          policies: [
            {
              name: 'group',
              actuator: 'group',
              min: 1,
              max: 8,
              cooldownMs: 1_000,
              scaleDownStabilizationMs: 3_000,
              target: { metric: 'group.loadPerReplica', target: 1, tolerance: 0.1 },
            },
          ],
          sources: { node: source },
          actuators: { group: groupActuator(group) },
          tickMs: 250,
          onDecision: (d) => {
            if (d.kind === 'scale') scaleDecisions++;
            if (process.env.BENCH_AUTOSCALE_LOG === '1' && d.kind === 'scale')
              console.log(`${round((performance.now() - start) / 1_000, 2)}s ${d.reason}`);
          },
        }).start()
      : undefined;

  const phaseAt = {} as RunResult['phaseAt'];
  const sizes: RunResult['sizes'] = [{ at: 0, size: group.size }];
  const watchSize = (now: number) => {
    if (group.size !== sizes.at(-1)!.size) sizes.push({ at: now - start, size: group.size });
  };
  let phaseStart = start;
  let seq = 0;
  for (const phase of PROFILE) {
    phaseAt[phase.name] = phaseStart - start;
    let credit = 0;
    let last = phaseStart;
    for (;;) {
      const now = performance.now();
      const t = now - phaseStart;
      if (t >= phase.ms) break;
      credit += (phase.rate(t) * (now - last)) / 1_000;
      last = now;
      watchSize(now);
      while (credit >= 1) {
        credit -= 1;
        const sample: Sample = { sentAt: now - start };
        samples.push(sample);
        const sent = group.send<number>(seq++).then(
          () => {
            sample.latencyMs = performance.now() - start - sample.sentAt;
          },
          (error: unknown) => {
            sample.code = AgentfleetError.isInstance(error) ? error.code : String(error);
          },
        );
        pending.add(sent);
        void sent.finally(() => pending.delete(sent));
      }
      await sleep(SLICE_MS);
    }
    phaseStart += phase.ms;
  }
  const endAt = performance.now() - start;
  // Drain: every message either answers or is rejected; give up (and count the rest lost) after 60 s.
  const drainUntil = performance.now() + 60_000;
  while (pending.size > 0 && performance.now() < drainUntil) {
    watchSize(performance.now());
    await sleep(50);
  }
  const unsettled = pending.size;
  await autoscaler?.close();
  clearInterval(sampler);
  source.close();
  const finalSize = group.size;
  await group.close();
  await runtime.close();
  return { name, samples, phaseAt, endAt, sizes, finalSize, unsettled, scaleDecisions };
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const latencies = (samples: Sample[], from = 0, to = Number.POSITIVE_INFINITY) =>
  samples
    .filter((s) => s.latencyMs !== undefined && s.sentAt >= from && s.sentAt < to)
    .map((s) => s.latencyMs!);

function summarise(r: RunResult) {
  const stepAt = r.phaseAt.step;
  const stepEnd = r.phaseAt.down;
  const answered = r.samples.filter((s) => s.latencyMs !== undefined).length;
  const rejected: Record<string, number> = {};
  for (const s of r.samples) if (s.code !== undefined) rejected[s.code] = (rejected[s.code] ?? 0) + 1;
  const rejectedTotal = Object.values(rejected).reduce((a, b) => a + b, 0);
  const baselineP99 = percentile(latencies(r.samples, 0, stepAt), 99);
  const threshold = 2 * baselineP99;
  // p99 of messages sent in [t − WINDOW_MS, t), for t every 100 ms through the hold; recovered at
  // the end of the last window over the threshold (rejected messages count as over it).
  let lastBad: number | undefined;
  for (let t = stepAt + WINDOW_MS; t <= stepEnd; t += 100) {
    const inWindow = r.samples.filter((s) => s.sentAt >= t - WINDOW_MS && s.sentAt < t);
    const anyRejected = inWindow.some((s) => s.code !== undefined);
    const p99 = percentile(
      inWindow.filter((s) => s.latencyMs !== undefined).map((s) => s.latencyMs!),
      99,
    );
    if (anyRejected || !(p99 <= threshold)) lastBad = t;
  }
  const recovered =
    lastBad === undefined ? 0 : lastBad >= stepEnd - 100 ? 'never' : round(lastBad - stepAt, 0);
  const firstRise = r.sizes.find((s) => s.at >= stepAt && s.size > 1);
  const oscillateAt = r.phaseAt.oscillate;
  const flaps = r.sizes.filter((s) => s.at >= oscillateAt && s.at < r.endAt).length;
  const maxSize = Math.max(...r.sizes.map((s) => s.size));
  const all = latencies(r.samples);
  const step = latencies(r.samples, stepAt, stepEnd);
  return {
    run: r.name,
    sent: r.samples.length,
    answered,
    'unanswered (sent − answered)': r.samples.length - answered,
    rejected:
      rejectedTotal === 0
        ? '0'
        : Object.entries(rejected)
            .map(([c, n]) => `${c} ${n}`)
            .join(', '),
    'lost (no answer, no rejection)': r.unsettled,
    'p50 ms': round(percentile(all, 50), 1),
    'p99 ms': round(percentile(all, 99), 1),
    'step p50 ms': round(percentile(step, 50), 1),
    'step p99 ms': round(percentile(step, 99), 1),
    'low p99 ms': round(baselineP99, 1),
    'first rise ms': firstRise === undefined ? 'never' : round(firstRise.at - stepAt, 0),
    'p99 recovered ms': recovered,
    'max size': maxSize,
    overshoot: maxSize - STEP_NEEDS,
    'flaps (oscillating)': flaps,
    'final size': r.finalSize,
    sizes: r.sizes.map((s) => `${round(s.at / 1_000, 1)}s:${s.size}`).join(' '),
  };
}

export async function runAutoscaleBench(): Promise<BenchReport> {
  const fixed = summarise(await run('fixed'));
  const scaled = summarise(await run('autoscaled'));
  const { sizes: fixedSizes, ...fixedRow } = fixed;
  const { sizes: scaledSizes, ...scaledRow } = scaled;
  const figures: BenchReport['figures'] = {};
  for (const row of [fixed, scaled]) {
    const p = row.run;
    figures[`${p}_sent`] = row.sent;
    figures[`${p}_answered`] = row.answered;
    figures[`${p}_unanswered`] = row['unanswered (sent − answered)'];
    figures[`${p}_rejected`] = row.rejected;
    figures[`${p}_lost`] = row['lost (no answer, no rejection)'];
    figures[`${p}_p50_ms`] = row['p50 ms'];
    figures[`${p}_p99_ms`] = row['p99 ms'];
    figures[`${p}_step_p50_ms`] = row['step p50 ms'];
    figures[`${p}_step_p99_ms`] = row['step p99 ms'];
    figures[`${p}_first_rise_ms`] = row['first rise ms'];
    figures[`${p}_p99_recovered_ms`] = row['p99 recovered ms'];
    figures[`${p}_overshoot`] = row.overshoot;
    figures[`${p}_flaps`] = row['flaps (oscillating)'];
    figures[`${p}_final_size`] = row['final size'];
    figures[`${p}_sizes`] = row.sizes;
  }
  void fixedSizes;
  void scaledSizes;
  return {
    name: 'autoscale',
    measures:
      'a group of 20 ms replicas under 30 → 150 msg/s → 30 → 150/20 oscillating, fixed at 1 replica vs an Autoscaler (target tracking, tick 250 ms)',
    rows: [fixedRow, scaledRow],
    figures,
  };
}

if (import.meta.main) printReport(await runAutoscaleBench());

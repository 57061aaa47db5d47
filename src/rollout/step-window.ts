import { LatencyHistogram } from './latency-histogram.ts';
import type { RunSample, StepStats } from './rollout-record.ts';

/** What a sample's `output` may weigh in the shared store (JSON characters); a larger one is dropped. */
const MAX_OUTPUT_CHARS = 4_096;

/**
 * What this node sees of one rollout in one step's window: both versions' histograms and a
 * ring of `to`'s latest runs. `observe` is O(1) and allocates only the sample.
 */
export class StepWindow {
  readonly stepId: string;
  readonly from: string;
  readonly to: string;
  readonly fromStats = new LatencyHistogram();
  readonly toStats = new LatencyHistogram();
  /** Results recorded since the last flush to the store. */
  dirty = false;
  readonly #ring: Array<RunSample | undefined>;
  readonly #clock: () => number;
  #next = 0;

  constructor(stepId: string, from: string, to: string, sampleSize: number, clock: () => number) {
    this.stepId = stepId;
    this.from = from;
    this.to = to;
    this.#ring = new Array(sampleSize);
    this.#clock = clock;
  }

  /** Records one result of `version` (ignored when it is neither side). */
  observe(version: string, latencyMs: number, ok: boolean, runId?: string, output?: unknown): void {
    if (version === this.to) {
      this.toStats.record(latencyMs, ok);
      if (this.#ring.length > 0) {
        const sample: RunSample = { at: this.#clock(), ok, latencyMs };
        if (runId !== undefined) sample.runId = runId;
        if (output !== undefined) sample.output = output;
        this.#ring[this.#next] = sample;
        this.#next = (this.#next + 1) % this.#ring.length;
      }
    } else if (version === this.from) this.fromStats.record(latencyMs, ok);
    else return;
    this.dirty = true;
  }

  /** The samples, oldest first. */
  samples(): RunSample[] {
    const n = this.#ring.length;
    const out: RunSample[] = [];
    for (let i = 0; i < n; i++) {
      const s = this.#ring[(this.#next + i) % n];
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** This window as stored: samples whose output is not JSON or is too large lose it. */
  snapshot(): StepStats {
    return {
      from: this.fromStats.toJSON(),
      to: this.toStats.toJSON(),
      samples: this.samples().map(storable),
    };
  }
}

function storable(sample: RunSample): RunSample {
  if (sample.output === undefined) return sample;
  let json: string | undefined;
  try {
    json = JSON.stringify(sample.output);
  } catch {
    json = undefined;
  }
  if (json !== undefined && json.length <= MAX_OUTPUT_CHARS) return { ...sample, output: JSON.parse(json) };
  const { output: _dropped, ...rest } = sample;
  return rest;
}

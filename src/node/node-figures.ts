import { type ModelCallEvent, modelCallChannel } from '../context/index.ts';
import type { ProviderStats } from '../llm/index.ts';
import type { ModelRegistry } from '../models/index.ts';
import type { RunStore } from '../runs/index.ts';

/** Seconds the token rate is averaged over. */
const RATE_WINDOW_S = 10;

/**
 * Figures of a node an autoscaler reads beside the runtime's own (pool, mailboxes, event loop,
 * CPU): model calls in flight and waiting, tokens per second, runs awaiting approval. Each is
 * cheap to read; the runs' count is refreshed at most every `runsEveryMs`.
 */
export class NodeFigures {
  readonly #models: ModelRegistry;
  readonly #runs: RunStore;
  readonly #owner: string;
  readonly #runsEveryMs: number;
  readonly #now: () => number;
  /** Tokens per whole second, the last RATE_WINDOW_S + 1 seconds (a ring). */
  readonly #tokens = new Float64Array(RATE_WINDOW_S + 1);
  #tokensSecond = 0;
  #awaiting = 0;
  #awaitingAt = Number.NEGATIVE_INFINITY;
  #counting: Promise<void> | undefined;
  readonly #onCall = (message: unknown) => this.#count(message as ModelCallEvent);

  constructor(options: {
    models: ModelRegistry;
    runs: RunStore;
    owner: string;
    runsEveryMs?: number;
    now?: () => number;
  }) {
    this.#models = options.models;
    this.#runs = options.runs;
    this.#owner = options.owner;
    this.#runsEveryMs = options.runsEveryMs ?? 5_000;
    this.#now = options.now ?? Date.now;
    modelCallChannel.subscribe(this.#onCall);
  }

  /** Model calls on the wire now and waiting for a slot (capped providers' queues and their pools), over every provider. */
  modelCalls(): { inFlight: number; waiting: number } {
    let inFlight = 0;
    let waiting = 0;
    for (const name of this.#models.names()) {
      let stats: ProviderStats | undefined;
      try {
        stats = this.#models.resolve(`${name}/-`).provider.stats?.();
      } catch {
        continue; // removed by a reload meanwhile
      }
      if (stats === undefined) continue;
      inFlight += stats.http.running;
      waiting += stats.queue.waiting + stats.http.queued;
    }
    return { inFlight, waiting };
  }

  /** Tokens (input + output) per second reported by model calls that ended, over the last 10 s. */
  tokensPerSecond(): number {
    this.#advance(Math.floor(this.#now() / 1000));
    let sum = 0;
    for (let i = 0; i < this.#tokens.length; i++)
      if (i !== this.#tokensSecond % this.#tokens.length) sum += this.#tokens[i]!;
    return sum / RATE_WINDOW_S;
  }

  /** Runs of this node awaiting a person's approval (as last counted; a count starts in the background when stale). */
  runsAwaitingApproval(): number {
    if (this.#now() - this.#awaitingAt >= this.#runsEveryMs && this.#counting === undefined) {
      this.#counting = this.#countAwaiting().finally(() => {
        this.#counting = undefined;
      });
    }
    return this.#awaiting;
  }

  /** Counts the runs awaiting approval now (after a count in progress) and returns it. */
  async refresh(): Promise<number> {
    await this.#counting;
    await this.#countAwaiting();
    return this.#awaiting;
  }

  /** Stops listening to model calls; waits for a count in progress. */
  async close(): Promise<void> {
    modelCallChannel.unsubscribe(this.#onCall);
    await this.#counting;
  }

  #count(event: ModelCallEvent): void {
    const tokens = (event.inputTokens ?? 0) + (event.outputTokens ?? 0);
    if (!Number.isFinite(tokens) || tokens <= 0) return;
    const second = Math.floor(this.#now() / 1000);
    this.#advance(second);
    this.#tokens[second % this.#tokens.length]! += tokens;
  }

  /** Clears the seconds the ring skipped since it last moved. */
  #advance(second: number): void {
    if (second <= this.#tokensSecond) return;
    const steps = Math.min(second - this.#tokensSecond, this.#tokens.length);
    for (let i = 1; i <= steps; i++) this.#tokens[(this.#tokensSecond + i) % this.#tokens.length] = 0;
    this.#tokensSecond = second;
  }

  async #countAwaiting(): Promise<void> {
    let awaiting = 0;
    let after: string | undefined;
    try {
      for (;;) {
        const page = await this.#runs.unfinished({ owner: this.#owner, limit: 1_000, after });
        for (const run of page) if (run.status === 'awaiting-approval') awaiting++;
        if (page.length < 1_000) break;
        after = page.at(-1)?.id;
      }
      this.#awaiting = awaiting;
    } catch {
      // the store is unreachable: the last count stands
    }
    this.#awaitingAt = this.#now();
  }
}

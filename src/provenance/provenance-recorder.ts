import type { ProvenanceStore } from './provenance-store.ts';
import type { DecisionDraft, ProvenanceSink } from './records.ts';

/** Options of `ProvenanceRecorder`. */
export interface ProvenanceRecorderOptions {
  store: ProvenanceStore;
  /** Drafts held at most; beyond it new ones are dropped and counted. Default 10,000. */
  maxQueue?: number;
  /** Drafts that trigger a write at once. Default 500. */
  batchSize?: number;
  /** Milliseconds a draft waits at most before it is written. Default 200. */
  flushMs?: number;
  /** Days records are kept; pruned hourly. Default: kept forever. */
  retentionDays?: number;
  /** Told when a batch cannot be written (the batch is counted as failed and dropped). */
  onError?: (error: unknown) => void;
}

/** The recorder's counters (exported as metrics by the node). */
export interface ProvenanceRecorderStats {
  recorded: number;
  written: number;
  /** Drafts dropped because the queue was full. */
  dropped: number;
  /** Drafts of batches the store refused. */
  failed: number;
  queued: number;
}

const PRUNE_EVERY_MS = 3_600_000;

/**
 * Takes decisions off the hot path: `record` only pushes onto a bounded queue, written to the
 * store in batches on size or interval (one transaction each). A full queue drops and counts
 * rather than growing memory. `close()` writes what is queued and stops its timers.
 */
export class ProvenanceRecorder implements ProvenanceSink {
  readonly #store: ProvenanceStore;
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #flushMs: number;
  readonly #retentionMs: number | undefined;
  readonly #onError: (error: unknown) => void;
  #queue: DecisionDraft[] = [];
  #timer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #stats = { recorded: 0, written: 0, dropped: 0, failed: 0 };

  constructor(options: ProvenanceRecorderOptions) {
    this.#store = options.store;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#batchSize = options.batchSize ?? 500;
    this.#flushMs = options.flushMs ?? 200;
    this.#onError = options.onError ?? (() => {});
    this.#retentionMs = options.retentionDays === undefined ? undefined : options.retentionDays * 86_400_000;
    if (this.#retentionMs !== undefined) {
      this.#pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
      this.#pruneTimer.unref();
    }
  }

  get store(): ProvenanceStore {
    return this.#store;
  }

  record(draft: DecisionDraft): void {
    if (this.#closed || this.#queue.length >= this.#maxQueue) {
      this.#stats.dropped++;
      return;
    }
    this.#stats.recorded++;
    this.#queue.push(draft);
    if (this.#queue.length >= this.#batchSize) void this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#flushMs);
      this.#timer.unref();
    }
  }

  /** Writes what is queued now; resolves once it (and any write before it) is done. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#queue;
    if (batch.length === 0) return this.#writing;
    this.#queue = [];
    this.#writing = this.#writing.then(async () => {
      try {
        await this.#store.append(batch);
        this.#stats.written += batch.length;
      } catch (error) {
        this.#stats.failed += batch.length;
        this.#onError(error);
      }
    });
    return this.#writing;
  }

  /** Deletes records past the retention; returns how many (0 without a retention). */
  async prune(now = Date.now()): Promise<number> {
    if (this.#retentionMs === undefined || this.#closed) return 0;
    try {
      return await this.#store.prune(now - this.#retentionMs);
    } catch (error) {
      this.#onError(error);
      return 0;
    }
  }

  stats(): ProvenanceRecorderStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /** Writes what is queued, stops the timers; the store stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#pruneTimer !== undefined) clearInterval(this.#pruneTimer);
  }
}

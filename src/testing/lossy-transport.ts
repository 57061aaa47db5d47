import type {
  OutgoingMessage,
  Transport,
  TransportSink,
  TransportSubscribeOptions,
  TransportSubscription,
} from '../bus/index.ts';
import { seededRandom } from './seeded-random.ts';

/** Options of `lossyTransport`: probabilities in [0, 1] applied to each outgoing message. */
export interface LossyTransportOptions {
  /** Seed of the deterministic random source, so a failing run can be replayed. */
  seed: number;
  /** Probability a message is dropped. Default 0. */
  drop?: number;
  /** Probability a message is sent twice. Default 0. */
  duplicate?: number;
  /** Probability a message is held back and sent after later ones. Default 0. */
  reorder?: number;
  /** Most messages held back at once (the oldest is released past it). Default 8. */
  maxHeld?: number;
  /** Milliseconds after which held messages go out even if nothing follows. Default 20. */
  releaseMs?: number;
}

/** Counters of a lossy transport. */
export interface LossyTransportStats {
  sent: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Messages lost to the partition, outgoing or incoming. */
  partitioned: number;
}

/**
 * A transport wrapper for tests that misbehaves like a bad network: it drops, duplicates and
 * reorders outgoing messages at seeded random, and while `partitioned` neither sends nor
 * receives anything. Held messages are bounded (`maxHeld`) and released on a timer.
 */
export class LossyTransport implements Transport {
  readonly name: string;
  readonly inner: Transport;
  /** While true, every message in or out is lost (the node is cut off); set false to heal. */
  partitioned = false;
  readonly #random: () => number;
  readonly #drop: number;
  readonly #duplicate: number;
  readonly #reorder: number;
  readonly #maxHeld: number;
  readonly #releaseMs: number;
  readonly #held: OutgoingMessage[] = [];
  readonly #stats: LossyTransportStats = { sent: 0, dropped: 0, duplicated: 0, reordered: 0, partitioned: 0 };
  #timer: NodeJS.Timeout | undefined;

  constructor(inner: Transport, options: LossyTransportOptions) {
    this.inner = inner;
    this.name = `lossy-${inner.name}`;
    this.#random = seededRandom(options.seed);
    this.#drop = options.drop ?? 0;
    this.#duplicate = options.duplicate ?? 0;
    this.#reorder = options.reorder ?? 0;
    this.#maxHeld = options.maxHeld ?? 8;
    this.#releaseMs = options.releaseMs ?? 20;
  }

  get features() {
    return this.inner.features;
  }

  publish(message: OutgoingMessage, signal?: AbortSignal): void | Promise<void> {
    if (this.partitioned) {
      this.#stats.partitioned++;
      return;
    }
    const r = this.#random();
    if (r < this.#drop) {
      this.#stats.dropped++;
      return;
    }
    if (r < this.#drop + this.#reorder) {
      this.#stats.reordered++;
      this.#held.push(message);
      if (this.#held.length > this.#maxHeld) this.#send(this.#held.shift() as OutgoingMessage);
      this.#timer ??= setTimeout(() => this.#release(), this.#releaseMs).unref();
      return;
    }
    const sent = this.#send(message, signal);
    if (r < this.#drop + this.#reorder + this.#duplicate) {
      this.#stats.duplicated++;
      this.#send(message);
    }
    // Some held messages go out after this later one.
    if (this.#held.length > 0 && this.#random() < 0.5) this.#send(this.#held.shift() as OutgoingMessage);
    return sent;
  }

  async subscribe(
    pattern: string,
    options: TransportSubscribeOptions,
    sink: TransportSink,
  ): Promise<TransportSubscription> {
    return this.inner.subscribe(pattern, options, {
      deliver: (envelope, delivery) => {
        if (!this.partitioned) return sink.deliver(envelope, delivery);
        this.#stats.partitioned++;
      },
      receive: (topic, data, delivery, native) => {
        if (!this.partitioned) return sink.receive(topic, data, delivery, native);
        this.#stats.partitioned++;
      },
      fail: (error) => sink.fail(error),
    });
  }

  flush(signal?: AbortSignal): Promise<void> {
    return this.inner.flush(signal);
  }

  stats(): LossyTransportStats {
    return { ...this.#stats };
  }

  /** Drops what is held and closes the inner transport. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#held.length = 0;
    await this.inner.close();
  }

  #release(): void {
    this.#timer = undefined;
    for (const message of this.#held.splice(0)) this.#send(message);
  }

  #send(message: OutgoingMessage, signal?: AbortSignal): void | Promise<void> {
    this.#stats.sent++;
    try {
      const result = this.inner.publish(message, signal);
      // A lossy network does not report failures: a lost message is just lost.
      return result instanceof Promise ? result.catch(() => {}) : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Wraps `inner` in a `LossyTransport`. */
export function lossyTransport(inner: Transport, options: LossyTransportOptions): LossyTransport {
  return new LossyTransport(inner, options);
}

import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { SubscriptionLostError, TransportError } from '../errors.ts';
import type { Delivery, DurableOptions, TransportSink, TransportSubscription } from '../transport.ts';
import type { ResolvedStream } from './nats-options.ts';

/** Most messages one pull request asks for; the consumer's `max_ack_pending` bounds the rest. */
const MAX_BATCH = 256;

function isNotFound(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

function sameSubjects(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  const sorted = [...a].sort();
  return [...b].sort().every((s, i) => s === sorted[i]);
}

/**
 * Creates each configured stream, or updates it when its subjects, max age or duplicate window
 * differ from the options (the options are the source of truth; other settings are kept).
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  streams: readonly ResolvedStream[],
): Promise<void> {
  for (const stream of streams) {
    const wanted: Partial<StreamConfig> = {
      subjects: [...stream.subjects],
      max_age: stream.maxAgeMs === undefined ? 0 : nanos(stream.maxAgeMs),
      duplicate_window: nanos(stream.duplicateWindowMs),
    };
    let config: StreamConfig;
    try {
      config = (await jsm.streams.info(stream.name)).config;
    } catch (error) {
      if (!isNotFound(error, JetStreamApiCodes.StreamNotFound)) throw error;
      await jsm.streams.add({ name: stream.name, ...wanted });
      continue;
    }
    if (
      !sameSubjects(config.subjects, stream.subjects) ||
      config.max_age !== wanted.max_age ||
      config.duplicate_window !== wanted.duplicate_window
    ) {
      await jsm.streams.update(stream.name, { ...config, ...wanted });
    }
  }
}

/** Creates the durable pull consumer, or updates it when its limits or filter changed. */
async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  pattern: string,
  durable: DurableOptions,
): Promise<void> {
  const wanted = {
    filter_subject: pattern,
    ack_wait: nanos(durable.ackWaitMs),
    max_deliver: durable.maxDeliver,
    max_ack_pending: durable.maxInFlight,
  };
  let info: Awaited<ReturnType<JetStreamManager['consumers']['info']>>;
  try {
    info = await jsm.consumers.info(stream, durable.name);
  } catch (error) {
    if (!isNotFound(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(stream, {
      ...wanted,
      durable_name: durable.name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    return;
  }
  const c = info.config;
  if (
    c.filter_subject !== wanted.filter_subject ||
    c.ack_wait !== wanted.ack_wait ||
    c.max_deliver !== wanted.max_deliver ||
    c.max_ack_pending !== wanted.max_ack_pending
  ) {
    await jsm.consumers.update(stream, durable.name, wanted);
  }
}

/** The ack handle of one JetStream message. */
class JsDelivery implements Delivery {
  readonly #msg: JsMsg;
  readonly attempt: number;

  constructor(msg: JsMsg) {
    this.#msg = msg;
    this.attempt = msg.info.deliveryCount;
  }

  /** Acks and waits for the server to confirm, so a lost ack surfaces as an error, not a redelivery. */
  async ack(): Promise<void> {
    try {
      await this.#msg.ackAck();
    } catch (error) {
      throw new TransportError('nats', 'acknowledge a message', error);
    }
  }

  nak(delayMs?: number): void {
    try {
      this.#msg.nak(delayMs);
    } catch {
      // The connection is gone; the server redelivers after ack_wait anyway.
    }
  }

  term(_reason: string): void {
    try {
      // A plain +TERM: servers before 2.10 do not know "+TERM <reason>" and ignore it, so the
      // message would come back after ack_wait.
      this.#msg.term();
    } catch {
      // As for nak: without a connection the message comes back after ack_wait.
    }
  }
}

/** Times a lost consumer is recreated in a row (no message in between) before the subscription ends. */
const MAX_RESTARTS = 3;

/**
 * A durable subscription: a JetStream pull consumer (created or updated on `stream`) whose
 * messages go to `sink` one at a time; a promise from the sink pauses consumption until it
 * settles. Subscribers using the same durable name share the consumer (a work queue).
 * A consumer that ends under it (deleted, or lost with missed heartbeats) is recreated; when
 * that fails (the stream is gone, the connection closed) the sink gets `SUBSCRIPTION_LOST`.
 */
export async function subscribeDurable(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  pattern: string,
  durable: DurableOptions,
  sink: TransportSink,
): Promise<TransportSubscription> {
  const open = async (): Promise<ConsumerMessages> => {
    await ensureConsumer(jsm, stream, pattern, durable);
    const consumer = await js.consumers.get(stream, durable.name);
    // Without abort_on_missing_resource the client retries a missing consumer forever, silently.
    return consumer.consume({
      max_messages: Math.min(durable.maxInFlight, MAX_BATCH),
      abort_on_missing_resource: true,
    });
  };
  let messages: ConsumerMessages;
  try {
    messages = await open();
  } catch (error) {
    throw new TransportError('nats', `create the durable consumer ${durable.name} on ${stream}`, error);
  }
  return new DurableSubscription(messages, open, sink, `${durable.name} on ${stream}`, pattern);
}

class DurableSubscription implements TransportSubscription {
  #messages: ConsumerMessages;
  readonly #open: () => Promise<ConsumerMessages>;
  readonly #stopped = new AbortController();
  #closed = false;
  #busy = false;

  constructor(
    messages: ConsumerMessages,
    open: () => Promise<ConsumerMessages>,
    sink: TransportSink,
    name: string,
    pattern: string,
  ) {
    this.#messages = messages;
    this.#open = open;
    void this.#run(sink, name, pattern);
  }

  async #run(sink: TransportSink, name: string, pattern: string): Promise<void> {
    let restarts = 0;
    for (;;) {
      let why: unknown;
      try {
        for await (const msg of this.#messages) {
          restarts = 0;
          const paused = this.#hand(sink, msg);
          if (paused !== undefined) await paused;
        }
      } catch (error) {
        why = error;
      }
      if (this.#closed) return;
      // The consumer ended without a close: deleted, its stream deleted, or the connection gone.
      const lost = await this.#reopen(++restarts);
      if (lost === undefined) continue;
      if (this.#closed) return;
      const cause = lost instanceof Error ? lost : why;
      const error = new SubscriptionLostError(
        'nats',
        pattern,
        `the durable consumer ${name} is gone and could not be recreated (${describe(cause)})`,
        cause,
      );
      try {
        sink.fail(error);
      } catch {
        // The sink reports its own failures.
      }
      return;
    }
  }

  /** Hands one message over; returns a promise only while the sink is full. */
  #hand(sink: TransportSink, msg: JsMsg): Promise<void> | undefined {
    if (this.#closed) {
      new JsDelivery(msg).nak();
      return undefined;
    }
    let result: void | Promise<void>;
    try {
      result = sink.receive(msg.subject, msg.data, new JsDelivery(msg));
    } catch {
      return undefined;
    }
    return result === undefined ? undefined : this.#pause(result);
  }

  async #pause(result: Promise<void>): Promise<void> {
    this.#busy = true;
    try {
      await result;
    } catch {
      // The sink settles its own failures; a rejection only means "go on".
    } finally {
      this.#busy = false;
    }
  }

  /** Recreates the consumer; returns undefined when it is back, else why it could not be. */
  async #reopen(attempt: number): Promise<unknown> {
    if (attempt > MAX_RESTARTS) return new Error(`recreated ${MAX_RESTARTS} times in a row`);
    if (attempt > 1) {
      await sleep(100 * 2 ** attempt, undefined, { signal: this.#stopped.signal }).catch(() => {});
    }
    if (this.#closed) return undefined;
    try {
      const messages = await this.#open();
      if (this.#closed) await messages.close();
      this.#messages = messages;
      return undefined;
    } catch (error) {
      if (isNotFound(error, JetStreamApiCodes.StreamNotFound) || !isTransient(error)) return error;
      return this.#reopen(attempt + 1);
    }
  }

  /**
   * Stops fetching; messages fetched but not yet handed over are nak'd for prompt redelivery.
   * Does not wait for a paused sink, which may itself be waiting for this close.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped.abort();
    const stopped = this.#messages.close();
    if (!this.#busy) await stopped;
  }
}

/** Errors after which recreating the consumer is worth another try (not a closed connection). */
function isTransient(error: unknown): boolean {
  return !(error instanceof Error && /closed|CONNECTION_CLOSED/i.test(`${error.name} ${error.message}`));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error ?? 'ended');
}

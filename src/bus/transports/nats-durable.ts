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
import { TransportError } from '../errors.ts';
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

  term(reason: string): void {
    try {
      this.#msg.term(reason);
    } catch {
      // As for nak: without a connection the message comes back after ack_wait.
    }
  }
}

/**
 * A durable subscription: a JetStream pull consumer (created or updated on `stream`) whose
 * messages go to `sink` one at a time; a promise from the sink pauses consumption until it
 * settles. Subscribers using the same durable name share the consumer (a work queue).
 */
export async function subscribeDurable(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  pattern: string,
  durable: DurableOptions,
  sink: TransportSink,
): Promise<TransportSubscription> {
  let messages: ConsumerMessages;
  try {
    await ensureConsumer(jsm, stream, pattern, durable);
    const consumer = await js.consumers.get(stream, durable.name);
    messages = await consumer.consume({ max_messages: Math.min(durable.maxInFlight, MAX_BATCH) });
  } catch (error) {
    throw new TransportError('nats', `create the durable consumer ${durable.name} on ${stream}`, error);
  }
  return new DurableSubscription(messages, sink);
}

class DurableSubscription implements TransportSubscription {
  readonly #messages: ConsumerMessages;
  #closed = false;
  #busy = false;

  constructor(messages: ConsumerMessages, sink: TransportSink) {
    this.#messages = messages;
    void this.#run(sink);
  }

  async #run(sink: TransportSink): Promise<void> {
    try {
      for await (const msg of this.#messages) {
        if (this.#closed) {
          new JsDelivery(msg).nak();
          continue;
        }
        let result: void | Promise<void>;
        try {
          result = sink.receive(msg.subject, msg.data, new JsDelivery(msg));
        } catch {
          continue;
        }
        if (result === undefined) continue;
        this.#busy = true;
        try {
          await result;
        } catch {
          // The sink settles its own failures; a rejection only means "go on".
        } finally {
          this.#busy = false;
        }
      }
    } catch {
      // The connection closed under the consumer; the server keeps the position.
    }
  }

  /**
   * Stops fetching; messages fetched but not yet handed over are nak'd for prompt redelivery.
   * Does not wait for a paused sink, which may itself be waiting for this close.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const stopped = this.#messages.close();
    if (!this.#busy) await stopped;
  }
}

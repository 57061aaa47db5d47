import type { Envelope } from './envelope.ts';

/** What a transport can do; the bus rejects subscription options a transport cannot honour. */
export interface TransportFeatures {
  /**
   * Carries bytes. The bus encodes envelopes with its codec before `publish` (`data` is set)
   * and wire transports hand arriving bytes to `sink.receive`, where the bus decodes and
   * dead-letters what is malformed. Object transports (in-memory) pass envelopes as they are.
   */
  readonly wire: boolean;
  /** Has durable subscriptions: stored messages, explicit ack, redelivery after a crash. */
  readonly durable: boolean;
  /** Can hold a publisher back while a subscriber's buffer is full (`whenFull: 'block'`). */
  readonly blockPublisher: boolean;
  /** Knows at publish time that nobody listens, so a request fails at once with `NO_RESPONDERS`. */
  readonly knowsResponders: boolean;
}

/** One message on its way out. */
export interface OutgoingMessage {
  readonly envelope: Envelope;
  /**
   * The encoded envelope; set for wire transports only. With `native` set it is the plain
   * JSON body, not a frame.
   */
  readonly data: Uint8Array | undefined;
  /** Set on a reply to a plain client: send it in the client's own protocol (see `NativeReply`). */
  readonly native?: NativeReply | undefined;
}

/**
 * How a reply to a plain client travels: `headers` as native headers (NATS headers, MQTT 5
 * user properties) and, over MQTT 5, `correlationData` echoed from the request.
 */
export interface NativeReply {
  readonly headers: Readonly<Record<string, string>>;
  readonly correlationData?: Uint8Array | undefined;
}

/** How a durable subscription consumes (JetStream). */
export interface DurableOptions {
  /** The consumer's durable name; restarting with the same name resumes where it left off. */
  readonly name: string;
  /** Milliseconds before an unacknowledged message is delivered again. */
  readonly ackWaitMs: number;
  /** Deliveries before a message is given up on (then dead-lettered by the bus). */
  readonly maxDeliver: number;
  /** Messages fetched but not yet acknowledged, at most. */
  readonly maxInFlight: number;
}

export interface TransportSubscribeOptions {
  /**
   * Queue group: each message goes to one member of the group. The bus names it per tenant
   * (`<queue>.<tenant>`, see `queue-group.ts`), so every member of a group is of one tenant.
   */
  readonly queue: string | undefined;
  /** Set for a durable subscription (only when `features.durable`). */
  readonly durable: DurableOptions | undefined;
}

/** Acknowledgement handle of a message from a durable subscription. */
export interface Delivery {
  /** 1 on first delivery, more on redeliveries. */
  readonly attempt: number;
  /** Done: the message is not delivered again. */
  ack(): Promise<void>;
  /** Failed: deliver again (after `delayMs`, if given). */
  nak(delayMs?: number): void;
  /** Never deliver again (poison message). */
  term(reason: string): void;
}

/**
 * Facts a wire transport read from its own protocol (a NATS message's reply subject and
 * headers, an MQTT 5 message's response topic, correlation data and user properties), used for messages that are not Agentfleet frames: a plain NATS client's request
 * gets its reply, and its W3C `traceparent` header is continued. Never the tenant: that comes
 * from authenticated sources only (see src/front-door).
 */
export interface NativeFacts {
  /** The reply subject (NATS) or MQTT 5 response topic, as a bus topic. */
  readonly replyTo?: string | undefined;
  /** The W3C traceparent (NATS header, MQTT 5 user property). */
  readonly traceparent?: string | undefined;
  /** MQTT 5 correlation data, echoed on the reply. */
  readonly correlationData?: Uint8Array | undefined;
}

/**
 * Where a transport hands arriving messages. A returned promise means "full, wait": the
 * in-memory transport holds its publisher, a durable consumer stops fetching until it settles.
 */
export interface TransportSink {
  /** An envelope from an object transport. */
  deliver(envelope: Envelope, delivery?: Delivery): void | Promise<void>;
  /** Bytes from a wire transport; `topic` is the bus topic (already mapped back from MQTT). */
  receive(topic: string, data: Uint8Array, delivery?: Delivery, native?: NativeFacts): void | Promise<void>;
  /**
   * The transport lost the subscription for good and could not resume it (a JetStream stream
   * or consumer that is gone); the subscription ends with `error` (`SUBSCRIPTION_LOST`).
   */
  fail(error: Error): void;
}

/** A live subscription on a transport. */
export interface TransportSubscription {
  /** Stops delivery; a durable consumer keeps its server-side position. */
  close(): Promise<void>;
}

/** Records which message ids were handled, so redeliveries can be skipped (subscriber-side dedupe). */
export interface IdempotencyStore {
  /** True when `id` was recorded (within the store's window). */
  has(id: string): Promise<boolean>;
  /** Records `id` as handled. */
  add(id: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The seam between the bus and a messaging system. The in-memory transport is the default;
 * NATS (with JetStream) and MQTT pass the same contract suite (`transportContract` in `agentfleet/testing`).
 */
export interface Transport {
  /** Short name for errors and stats (`memory`, `nats`, `mqtt`). */
  readonly name: string;
  readonly features: TransportFeatures;
  /**
   * Sends one message. Resolves once the transport took it (for JetStream topics: once the
   * server stored it). The in-memory transport may return a promise to apply backpressure.
   */
  publish(message: OutgoingMessage, signal?: AbortSignal): void | Promise<void>;
  /** Starts a subscription; resolves once the server confirmed it, so later publishes reach it. */
  subscribe(
    pattern: string,
    options: TransportSubscribeOptions,
    sink: TransportSink,
  ): Promise<TransportSubscription>;
  /** Subscriber-side dedupe store shared by every consumer of `name` (durable transports). */
  idempotencyStore?(name: string, windowMs: number): Promise<IdempotencyStore>;
  /** Resolves once everything published so far has reached the server. */
  flush(signal?: AbortSignal): Promise<void>;
  /** Closes connections; idempotent. */
  close(): Promise<void>;
}

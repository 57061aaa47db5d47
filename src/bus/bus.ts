import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Channel } from '../channel/index.ts';
import { activeTraceparent, currentTenantId, tracingEnabled } from '../context/index.ts';
import { AbortedError, AgentfleetError, InvalidOptionsError, raceWithSignal } from '../errors/index.ts';
import { type BusOptions, type PublishContext, parseBusOptions } from './bus-options.ts';
import { type Codec, codecFor } from './codec.ts';
import { type DeadLetter, rawDeadLetter } from './dead-letter.ts';
import { type Envelope, isTraceparent, nextMessageId } from './envelope.ts';
import { BusClosedError, MessageTooLargeError } from './errors.ts';
import { type CodecLookup, codecLookup, decodeFrame, encodeFrame, isFrame, isToken } from './frame.ts';
import { durableName, queueGroup } from './queue-group.ts';
import { ERROR_HEADER, PendingRequests } from './requests.ts';
import { resolveSubscribeOptions, type SubscribeOptions } from './subscribe-options.ts';
import {
  type CloseOptions,
  closeDeadline,
  type MessageHandler,
  Subscription,
  type SubscriptionHost,
  type SubscriptionStats,
} from './subscription.ts';
import { assertPattern, assertTopic } from './topic.ts';
import type { NativeFacts, NativeReply, Transport, TransportSubscription } from './transport.ts';
import { MemoryTransport } from './transports/memory.ts';

/** Options of one publish. */
export interface PublishOptions {
  headers?: Record<string, string>;
  /** Message id (default: a fresh unique id). Reuse it when retrying so JetStream drops the copy. */
  id?: string;
  /**
   * Tenant (default: the current tenant, `withTenant`, or the bus's `context`). Inside a
   * tenant context only that tenant may be named: a tenant cannot publish as another.
   */
  tenant?: string;
  /** W3C traceparent (default: from the bus's `context`). */
  traceparent?: string;
  signal?: AbortSignal;
}

/** Options of one request. */
export interface RequestOptions extends PublishOptions {
  /** Milliseconds to wait for the reply (default: the bus's `requestTimeoutMs`). */
  timeout?: number;
}

/** Counters of the bus, summed over its subscriptions (including closed ones). */
export interface BusStats extends Omit<SubscriptionStats, 'pending'> {
  published: number;
  deadLettered: number;
  subscriptions: number;
  pendingRequests: number;
  /** Subscriptions the transport lost for good (see the `subscriptionLost` event). */
  lost: number;
}

export interface BusEvents {
  /** A message went to the dead-letter topic. */
  deadLetter: [DeadLetter];
  /** A handler threw; the subscription goes on. */
  handlerError: [{ error: unknown; message: Envelope; pattern: string }];
  /**
   * The transport lost a subscription for good (`SUBSCRIPTION_LOST`: a JetStream stream that
   * was deleted, a consumer that could not be recreated); the subscription is closed.
   */
  subscriptionLost: [{ error: Error; pattern: string }];
}

const SENT: Promise<void> = Promise.resolve();

/** A reply subject a plain client named: a valid concrete topic. */
function isReplySubject(subject: string): boolean {
  try {
    assertTopic(subject);
    return true;
  } catch {
    return false;
  }
}
const VALID_TOPICS_LIMIT = 10_000;

/**
 * Topic-based pub/sub, queue groups and request/reply over a pluggable transport (in-memory
 * by default, NATS/JetStream or MQTT). Every message travels in an `Envelope` with id, time,
 * tenant and trace context; subscriptions have bounded buffers with a policy when full.
 */
export class Bus implements SubscriptionHost {
  readonly transport: Transport;
  readonly codec: Codec;
  readonly events = new EventEmitter<BusEvents>();
  readonly #maxBytes: number;
  readonly #codecs: CodecLookup;
  readonly #deadLetterTopic: string;
  readonly #requestTimeoutMs: number;
  readonly #context: (() => PublishContext | undefined) | undefined;
  readonly #requests = new PendingRequests(
    randomBytes(6)
      .toString('base64url')
      .replace(/[^A-Za-z0-9]/g, 'x'),
  );
  readonly #subscriptions = new Set<Subscription<unknown>>();
  readonly #validTopics = new Set<string>();
  #inbox: Promise<TransportSubscription> | undefined;
  #retired: Omit<SubscriptionStats, 'pending'> = {
    received: 0,
    delivered: 0,
    dropped: 0,
    failed: 0,
    duplicates: 0,
    foreign: 0,
  };
  #published = 0;
  #deadLettered = 0;
  #lost = 0;
  #closing: Promise<void> | undefined;

  constructor(options?: BusOptions) {
    const o = parseBusOptions(options);
    this.transport = o.transport ?? new MemoryTransport();
    this.codec = codecFor(o.codec);
    this.#codecs = codecLookup(this.codec);
    this.#maxBytes = o.maxMessageBytes ?? 1024 * 1024;
    this.#deadLetterTopic = o.deadLetterTopic ?? '_deadletter';
    assertTopic(this.#deadLetterTopic);
    this.#requestTimeoutMs = o.requestTimeoutMs ?? 5_000;
    this.#context = o.context;
  }

  /**
   * Publishes `payload` on `topic`. Resolves once the transport took it: at once in memory
   * (unless a `block` subscriber is full), after the server's ack for JetStream topics.
   * Throws `INVALID_TOPIC`, `MESSAGE_TOO_LARGE`, `BUS_CLOSED`.
   */
  publish(topic: string, payload: unknown, options?: PublishOptions): Promise<void> {
    try {
      const result = this.#send(this.#envelope(topic, payload, options, undefined, false), options?.signal);
      return result ?? SENT;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Subscribes to `pattern` (`*` one token, `>` the rest). With a handler, messages are handled
   * in order (or `concurrency` at a time); with a channel, they are sent into it; with neither,
   * iterate the returned subscription. Resolves once the transport confirmed the subscription.
   */
  async subscribe<T = unknown>(
    pattern: string,
    target?: MessageHandler<T> | Channel<Envelope<T>>,
    options?: SubscribeOptions,
  ): Promise<Subscription<T>> {
    if (this.#closing !== undefined) throw new BusClosedError();
    assertPattern(pattern);
    const kind = typeof target === 'function' ? 'handler' : target === undefined ? 'iterator' : 'channel';
    const tenant = currentTenantId();
    const resolved = resolveSubscribeOptions(options, this.transport.features, this.transport.name, kind);
    if (resolved.durable !== undefined && tenant !== undefined) {
      resolved.durable = { ...resolved.durable, name: durableName(resolved.durable.name, tenant) };
    }
    const dedupe =
      resolved.dedupeWindowMs !== undefined && resolved.durable !== undefined
        ? await this.transport.idempotencyStore?.(resolved.durable.name, resolved.dedupeWindowMs)
        : undefined;
    const subscription = new Subscription<T>(
      this,
      pattern,
      resolved,
      typeof target === 'function' ? { handler: target } : { channel: target },
      dedupe,
      tenant,
    );
    const queue = resolved.queue === undefined ? undefined : queueGroup(resolved.queue, tenant);
    const transportSubscription = await this.transport.subscribe(
      pattern,
      { queue, durable: resolved.durable },
      subscription,
    );
    this.#subscriptions.add(subscription as Subscription<unknown>);
    subscription.start(transportSubscription);
    return subscription;
  }

  /**
   * Sends a request and resolves with the first reply. Rejects with `REPLY_TIMEOUT`,
   * `NO_RESPONDERS` (transports that can tell), `REQUEST_FAILED` (the responder threw),
   * or `ABORTED`.
   */
  async request<R = unknown>(
    topic: string,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<Envelope<R>> {
    if (this.#closing !== undefined) throw new BusClosedError();
    const signal = options?.signal;
    if (signal?.aborted) throw new AbortedError('The request was aborted by its AbortSignal.');
    this.#inbox ??= this.transport.subscribe(
      `${this.#requests.inboxPrefix}*`,
      { queue: undefined, durable: undefined },
      {
        deliver: (reply) => this.#requests.deliver(reply),
        fail: () => {
          this.#inbox = undefined; // lost: the next request subscribes again
        },
        receive: (replyTopic, data) => {
          const reply = this.decode(replyTopic, data);
          if (reply !== undefined) this.#requests.deliver(reply);
        },
      },
    );
    await raceWithSignal(this.#inbox, signal);
    const { replyTo, reply } = this.#requests.open(topic, options?.timeout ?? this.#requestTimeoutMs, signal);
    try {
      await this.#send(this.#envelope(topic, payload, options, replyTo, false), signal);
    } catch (error) {
      this.#requests.fail(replyTo, error as Error);
    }
    return reply as Promise<Envelope<R>>;
  }

  /**
   * Sends `value` (or `error`, as `{ code, message }`) back to the requester of `request`.
   * A request that arrived as plain JSON (`request.plain`, a client without Agentfleet code)
   * is answered in plain JSON: `value` as it is, or `{ error: { code, message, details? } }`
   * with the code also in the native header `agentfleet-error` (NATS header, MQTT 5 user
   * property) and MQTT 5 correlation data echoed. Other replies are Agentfleet frames.
   */
  reply(request: Envelope, value: unknown, error?: unknown): void {
    if (request.replyTo === undefined || this.#closing !== undefined) return;
    const plain = request.plain;
    let payload = value;
    let headers: Record<string, string> | undefined;
    if (error !== undefined) {
      const body = errorBody(error);
      headers = { [ERROR_HEADER]: plain === undefined ? request.topic : body.code };
      payload = plain === undefined ? { code: body.code, message: body.message } : { error: body };
    }
    const native: NativeReply | undefined =
      plain === undefined ? undefined : { headers: headers ?? {}, correlationData: plain.correlationData };
    const options = { headers, tenant: request.tenant, traceparent: request.traceparent };
    let sent: void | Promise<void>;
    try {
      // A reply belongs to the request's tenant, whatever context the responder runs in.
      sent = this.#send(
        this.#envelope(request.replyTo, payload, options, undefined, true),
        undefined,
        native,
      );
    } catch (failure) {
      this.handlerFailed(failure, request, undefined);
      return;
    }
    sent?.catch((failure: unknown) => this.handlerFailed(failure, request, undefined));
  }

  stats(): BusStats {
    const totals = { ...this.#retired };
    for (const subscription of this.#subscriptions) {
      const s = subscription.stats();
      totals.received += s.received;
      totals.delivered += s.delivered;
      totals.dropped += s.dropped;
      totals.failed += s.failed;
      totals.duplicates += s.duplicates;
      totals.foreign += s.foreign;
    }
    return {
      ...totals,
      published: this.#published,
      deadLettered: this.#deadLettered,
      subscriptions: this.#subscriptions.size,
      pendingRequests: this.#requests.size,
      lost: this.#lost,
    };
  }

  /** Resolves once everything published so far reached the transport's server. */
  flush(signal?: AbortSignal): Promise<void> {
    return this.transport.flush(signal);
  }

  /**
   * Closes every subscription (draining their buffers unless `drain: false`, which aborts their
   * handlers; each waits at most `deadlineMs`, default 10 s), fails pending requests with
   * `BUS_CLOSED`, and closes the transport. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing === undefined) {
      try {
        closeDeadline(options);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    this.#closing ??= this.#close(options);
    return this.#closing;
  }

  async #close(options: CloseOptions): Promise<void> {
    this.#requests.rejectAll(new BusClosedError());
    await Promise.allSettled([...this.#subscriptions].map((s) => s.close(options)));
    if (this.#inbox !== undefined) await (await this.#inbox.catch(() => undefined))?.close();
    await this.transport.close();
    this.events.removeAllListeners();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- SubscriptionHost ------------------------------------------------------------------

  /** @internal */
  decode(topic: string, data: Uint8Array, native?: NativeFacts): Envelope | undefined {
    if (data.byteLength > this.#maxBytes) {
      this.deadLetter(
        rawDeadLetter(
          'MESSAGE_TOO_LARGE',
          `${data.byteLength} bytes; the limit is ${this.#maxBytes}`,
          topic,
          data,
          this.#maxBytes,
        ),
      );
      return undefined;
    }
    try {
      const envelope = decodeFrame(data, topic, this.#codecs);
      envelope.bytes = data.byteLength;
      if (isFrame(data)) return envelope;
      // A plain client's message (no frame): its protocol's reply subject, trace context and
      // correlation data; it is answered in plain JSON (see `reply`).
      envelope.plain =
        native?.correlationData === undefined ? {} : { correlationData: native.correlationData };
      if (native !== undefined) {
        if (native.replyTo !== undefined && isReplySubject(native.replyTo)) envelope.replyTo = native.replyTo;
        if (native.traceparent !== undefined && isTraceparent(native.traceparent))
          envelope.traceparent = native.traceparent;
      }
      return envelope;
    } catch (error) {
      this.deadLetter(
        rawDeadLetter('MESSAGE_UNDECODABLE', (error as Error).message, topic, data, this.#maxBytes),
      );
      return undefined;
    }
  }

  /** @internal counts, emits and publishes a dead letter; never throws. */
  deadLetter(letter: DeadLetter): void {
    this.#deadLettered++;
    this.events.emit('deadLetter', letter);
    if (letter.topic === this.#deadLetterTopic || this.#closing !== undefined) return;
    this.publish(this.#deadLetterTopic, letter).catch(() => {});
  }

  /** @internal */
  handlerFailed(error: unknown, message: Envelope, subscription: Subscription<unknown> | undefined): void {
    if (this.events.listenerCount('handlerError') > 0) {
      this.events.emit('handlerError', { error, message, pattern: subscription?.pattern ?? message.topic });
    }
  }

  /** @internal */
  lost(error: Error, subscription: Subscription<unknown>): void {
    this.#lost++;
    this.events.emit('subscriptionLost', { error, pattern: subscription.pattern });
  }

  /** @internal */
  retire(subscription: Subscription<unknown>): void {
    if (!this.#subscriptions.delete(subscription)) return;
    const s = subscription.stats();
    this.#retired.received += s.received;
    this.#retired.delivered += s.delivered;
    this.#retired.dropped += s.dropped;
    this.#retired.failed += s.failed;
    this.#retired.duplicates += s.duplicates;
    this.#retired.foreign += s.foreign;
  }

  // ---- publishing ------------------------------------------------------------------------

  #envelope(
    topic: string,
    payload: unknown,
    options: PublishOptions | undefined,
    replyTo: string | undefined,
    isReply: boolean,
  ): Envelope {
    if (this.#closing !== undefined) throw new BusClosedError();
    if (!this.#validTopics.has(topic)) {
      assertTopic(topic);
      if (this.#validTopics.size >= VALID_TOPICS_LIMIT) this.#validTopics.clear();
      this.#validTopics.add(topic);
    }
    const context =
      options?.tenant === undefined || options.traceparent === undefined ? this.#context?.() : undefined;
    const traceparent =
      options?.traceparent ?? context?.traceparent ?? (tracingEnabled() ? activeTraceparent() : undefined);
    if (traceparent !== undefined && !isTraceparent(traceparent)) {
      throw new InvalidOptionsError(`traceparent ${JSON.stringify(traceparent)} is not W3C trace context.`);
    }
    const id = options?.id;
    if (id !== undefined && (typeof id !== 'string' || !isToken(id))) {
      throw new InvalidOptionsError(
        `message id ${JSON.stringify(id)} must be 1–200 printable characters without spaces.`,
      );
    }
    const current = currentTenantId();
    const tenant = options?.tenant ?? current ?? context?.tenant;
    if (tenant !== undefined && (typeof tenant !== 'string' || !isToken(tenant))) {
      throw new InvalidOptionsError(
        `tenant ${JSON.stringify(tenant)} must be 1–200 printable characters without spaces.`,
      );
    }
    if (current !== undefined && tenant !== current && !isReply) {
      throw new AgentfleetError(
        'TENANT_MISMATCH',
        `Code running as tenant "${current}" cannot publish as tenant "${tenant}".`,
      );
    }
    const headers = options?.headers;
    if (headers !== undefined) assertHeaders(headers);
    return {
      id: id ?? nextMessageId(),
      topic,
      time: Date.now(),
      tenant,
      traceparent,
      headers: headers ?? {},
      replyTo,
      payload,
    };
  }

  /** Encodes (a frame, or plain JSON for a `native` reply) and hands the message to the transport. */
  #send(envelope: Envelope, signal: AbortSignal | undefined, native?: NativeReply): void | Promise<void> {
    let data: Uint8Array | undefined;
    if (this.transport.features.wire) {
      try {
        data =
          native === undefined
            ? encodeFrame(envelope, this.codec)
            : Buffer.from(JSON.stringify(envelope.payload) ?? 'null');
      } catch (error) {
        throw new AgentfleetError(
          'MESSAGE_UNENCODABLE',
          `The payload on ${envelope.topic} cannot be encoded as ${this.codec.name}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (data.byteLength > this.#maxBytes)
        throw new MessageTooLargeError(data.byteLength, this.#maxBytes, envelope.topic);
    }
    this.#published++;
    return this.transport.publish(
      native === undefined ? { envelope, data } : { envelope, data, native },
      signal,
    );
  }
}

/** The `{ code, message, details? }` of a failed handler; a thrown non-Agentfleet error is `HANDLER_FAILED`. */
function errorBody(error: unknown): { code: string; message: string; details?: Record<string, unknown> } {
  if (AgentfleetError.isInstance(error)) return error.toJSON();
  return { code: 'HANDLER_FAILED', message: (error as Error)?.message ?? String(error) };
}

function assertHeaders(headers: Record<string, string>): void {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new InvalidOptionsError('headers must be an object of strings.');
  }
  for (const key in headers) {
    if (typeof headers[key] !== 'string') {
      throw new InvalidOptionsError(
        `header ${JSON.stringify(key)} must be a string, not ${typeof headers[key]}.`,
      );
    }
  }
}

/** Creates a bus; with no transport it runs in memory, needing no other process. */
export function createBus(options?: BusOptions): Bus {
  return new Bus(options);
}

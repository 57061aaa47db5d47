import { Channel } from '../channel/index.ts';
import {
  contextFromTraceparent,
  currentTenantId,
  inSpan,
  runInTenant,
  SpanKind,
  tenantContext,
  tracingEnabled,
  withoutTenant,
} from '../context/index.ts';
import { AbortedError, InvalidOptionsError, raceWithSignal } from '../errors/index.ts';
import type { DeadLetter } from './dead-letter.ts';
import type { Envelope } from './envelope.ts';
import type { ResolvedSubscribeOptions } from './subscribe-options.ts';
import type {
  Delivery,
  IdempotencyStore,
  NativeFacts,
  TransportSink,
  TransportSubscription,
} from './transport.ts';

/** What a handler gets besides its message. */
export interface HandlerContext {
  /**
   * Aborted when the subscription stops: at once on `close({ drain: false })`, once the buffer
   * is drained on `close()`, or when the close deadline passes. Pass it to whatever the handler
   * waits on, so a close does not have to wait for it.
   */
  readonly signal: AbortSignal;
}

/**
 * Handles one message. A value returned (or resolved) for a request is sent back as the reply.
 * `context.signal` tells the handler its subscription is closing.
 */
export type MessageHandler<T = unknown> = (message: Envelope<T>, context: HandlerContext) => unknown;

/** Options of `Subscription.close` and `Bus.close`. */
export interface CloseOptions {
  /** Handle the buffered messages first (default true); false drops them and aborts running handlers. */
  drain?: boolean;
  /**
   * Milliseconds to wait for the drain and running handlers. When they pass, handlers are
   * aborted, what is still buffered is dropped (durable messages are left for redelivery), and
   * the close resolves without waiting for handlers that ignore their signal. Default 10000.
   */
  deadlineMs?: number;
  /** Stops waiting for the handlers at once when aborted (the close then rejects with `ABORTED`). */
  signal?: AbortSignal;
}

const DEFAULT_CLOSE_DEADLINE_MS = 10_000;

/** The close deadline in ms (default 10 s); throws `INVALID_OPTIONS` for a bad one. */
export function closeDeadline(options: CloseOptions): number {
  const deadlineMs = options.deadlineMs ?? DEFAULT_CLOSE_DEADLINE_MS;
  if (!Number.isInteger(deadlineMs) || deadlineMs < 0) {
    throw new InvalidOptionsError(
      `close deadlineMs must be a whole number of milliseconds >= 0, not ${String(deadlineMs)}.`,
    );
  }
  return deadlineMs;
}

/** Counters of one subscription. */
export interface SubscriptionStats {
  /** Messages that arrived from the transport. */
  received: number;
  /** Messages handed to the handler / channel / iterator and, for handlers, handled without error. */
  delivered: number;
  /** Messages discarded because the buffer was full (drop-oldest / drop-newest) or the subscription closed. */
  dropped: number;
  /** Handler calls that threw or rejected. */
  failed: number;
  /** Redeliveries skipped because their id was already handled (dedupe). */
  duplicates: number;
  /** Other tenants' messages kept from a tenant's subscription. */
  foreign: number;
  /** Messages buffered now. */
  pending: number;
}

/** What a subscription needs from its bus. */
export interface SubscriptionHost {
  /** Decodes wire bytes; dead-letters and returns undefined when they are not a valid envelope. */
  decode(topic: string, data: Uint8Array, native?: NativeFacts): Envelope | undefined;
  deadLetter(letter: DeadLetter): void;
  reply(request: Envelope, value: unknown, error: unknown): void;
  handlerFailed(error: unknown, message: Envelope, subscription: Subscription<unknown>): void;
  retire(subscription: Subscription<unknown>): void;
  /** The transport ended the subscription with `error`. */
  lost(error: Error, subscription: Subscription<unknown>): void;
}

/** A message from a durable subscription, with its acknowledgement handle. */
class DurableItem {
  readonly envelope: Envelope;
  readonly delivery: Delivery;
  constructor(envelope: Envelope, delivery: Delivery) {
    this.envelope = envelope;
    this.delivery = delivery;
  }
}

type Item = Envelope | DurableItem;

/**
 * A live subscription: a bounded buffer between the transport and a handler, a channel, or
 * an async iterator. Iterate it (`for await (const m of sub)`) when created without a handler.
 */
export class Subscription<T = unknown> implements TransportSink, AsyncIterable<Envelope<T>> {
  readonly pattern: string;
  readonly options: ResolvedSubscribeOptions;
  /**
   * The tenant it was made for (the current tenant at `subscribe`): it receives only that
   * tenant's messages. Undefined: a system subscription that receives every message.
   */
  readonly tenant: string | undefined;
  readonly #host: SubscriptionHost;
  readonly #buffer: Channel<Item>;
  readonly #handler: MessageHandler<T> | undefined;
  readonly #dedupe: IdempotencyStore | undefined;
  readonly #stop = new AbortController();
  readonly #context: HandlerContext = { signal: this.#stop.signal };
  /** The handler with this subscription's context, made once (no closure per message). */
  readonly #invoke = (message: Envelope<T>): unknown =>
    (this.#handler as MessageHandler<T>)(message, this.#context);
  #transport: TransportSubscription | undefined;
  #workers: Promise<void>[] = [];
  #closing: Promise<void> | undefined;
  #error: Error | undefined;
  /** Workers waiting on an asynchronous handler now. */
  #busy = 0;
  #received = 0;
  #delivered = 0;
  #dropped = 0;
  #failed = 0;
  #duplicates = 0;
  #foreign = 0;

  /** @internal created by `Bus.subscribe`. */
  constructor(
    host: SubscriptionHost,
    pattern: string,
    options: ResolvedSubscribeOptions,
    target: { handler?: MessageHandler<T>; channel?: Channel<Envelope<T>> },
    dedupe: IdempotencyStore | undefined,
    tenant: string | undefined,
  ) {
    this.tenant = tenant;
    this.#host = host;
    this.pattern = pattern;
    this.options = options;
    this.#handler = target.handler;
    this.#buffer = (target.channel as Channel<Item> | undefined) ?? new Channel<Item>(options.buffer);
    this.#dedupe = dedupe;
  }

  /** @internal starts the handler workers once the transport subscription exists. */
  start(transport: TransportSubscription): void {
    this.#transport = transport;
    if (this.#handler === undefined) return;
    for (let i = 0; i < this.options.concurrency; i++) this.#workers.push(this.#work());
    this.options.signal?.addEventListener('abort', this, { once: true });
  }

  /** Abort listener: the subscription's signal closes it. */
  handleEvent(): void {
    void this.close();
  }

  stats(): SubscriptionStats {
    return {
      received: this.#received,
      delivered: this.#delivered,
      dropped: this.#dropped,
      failed: this.#failed,
      duplicates: this.#duplicates,
      foreign: this.#foreign,
      pending: this.#buffer.length,
    };
  }

  // ---- TransportSink ---------------------------------------------------------------------

  deliver(envelope: Envelope, delivery?: Delivery): void | Promise<void> {
    if (this.tenant !== undefined && envelope.tenant !== this.tenant) {
      // Another tenant's message on a shared topic: never seen here. Its own subscriptions have
      // their own copy (a durable consumer is per tenant too), so this consumer is done with it.
      this.#foreign++;
      delivery?.ack().catch(() => {});
      return;
    }
    this.#received++;
    const buffer = this.#buffer;
    const item = delivery === undefined ? envelope : new DurableItem(envelope, delivery);
    if (buffer.closed) {
      this.#dropped++;
      delivery?.nak();
      return;
    }
    if (buffer.trySend(item)) return;
    switch (this.options.whenFull) {
      case 'block':
        return buffer.send(item).catch(() => {
          this.#dropped++;
          delivery?.nak();
        });
      case 'drop-newest':
        this.#dropped++;
        return;
      case 'drop-oldest':
        buffer.tryRecv();
        this.#dropped++;
        buffer.trySend(item);
        return;
    }
  }

  /**
   * The transport lost this subscription: report it and close, handling what is buffered
   * (an iterator yields it, then throws `error`).
   */
  fail(error: Error): void {
    if (this.#closing !== undefined) return;
    this.#error = error;
    this.#host.lost(error, this as Subscription<unknown>);
    this.close().catch(() => {});
  }

  /** The error that ended this subscription, if its transport lost it (`SUBSCRIPTION_LOST`). */
  get error(): Error | undefined {
    return this.#error;
  }

  receive(topic: string, data: Uint8Array, delivery?: Delivery, native?: NativeFacts): void | Promise<void> {
    const envelope = this.#host.decode(topic, data, native);
    if (envelope !== undefined) return this.deliver(envelope, delivery);
    this.#received++;
    delivery?.term('undecodable');
  }

  // ---- consuming -------------------------------------------------------------------------

  /**
   * Iterates messages of a subscription made without a handler, until it is closed; throws
   * the subscription's `error` when its transport lost it.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Envelope<T>> {
    for await (const item of this.#buffer) {
      this.#delivered++;
      yield item as Envelope<T>;
    }
    if (this.#error !== undefined) throw this.#error;
  }

  async #work(): Promise<void> {
    const buffer = this.#buffer;
    for (;;) {
      const next = buffer.tryRecv() ?? (await buffer.recv());
      if (next.done) return;
      const item = next.value;
      // Neither promise rejects: both settle their own failures.
      const pending =
        item instanceof DurableItem ? this.#handleDurable(item) : this.#handle(item as Envelope<T>);
      if (pending !== undefined) {
        this.#busy++;
        await pending;
        this.#busy--;
      }
    }
  }

  /** Runs the handler in the message's tenant context; returns a promise only when the handler did. */
  #handle(message: Envelope<T>): Promise<void> | undefined {
    let result: unknown;
    try {
      result = runHandler(this.#invoke, message);
    } catch (error) {
      this.#fail(message, error);
      return undefined;
    }
    if (!(result instanceof Promise)) {
      this.#done(message, result);
      return undefined;
    }
    return result.then(
      (value) => this.#done(message, value),
      (error) => this.#fail(message, error),
    );
  }

  #done(message: Envelope<T>, value: unknown): void {
    this.#delivered++;
    if (message.replyTo !== undefined && value !== undefined) this.#host.reply(message, value, undefined);
  }

  #fail(message: Envelope<T>, error: unknown): void {
    this.#failed++;
    this.#host.handlerFailed(error, message, this as Subscription<unknown>);
    if (message.replyTo !== undefined) this.#host.reply(message, undefined, error);
  }

  /** At-least-once: ack only after the handler (and the dedupe record) succeeded; else nak or give up. */
  async #handleDurable({ envelope, delivery }: DurableItem): Promise<void> {
    const message = envelope as Envelope<T>;
    const dedupe = this.#dedupe;
    try {
      if (dedupe !== undefined && (await dedupe.has(message.id))) {
        this.#duplicates++;
        await delivery.ack();
        return;
      }
      const value = await runHandler(this.#invoke, message);
      if (dedupe !== undefined) await dedupe.add(message.id);
      await delivery.ack();
      this.#done(message, value);
    } catch (error) {
      this.#failed++;
      this.#host.handlerFailed(error, message, this as Subscription<unknown>);
      const max = this.options.durable?.maxDeliver ?? 1;
      if (delivery.attempt < max) {
        delivery.nak(Math.min(30_000, 100 * 2 ** delivery.attempt));
        return;
      }
      delivery.term('handler failed');
      this.#host.deadLetter({
        reason: 'HANDLER_FAILED',
        message: `Gave up after ${delivery.attempt} deliveries: ${(error as Error)?.message ?? String(error)}`,
        topic: message.topic,
        size: undefined,
        sample: undefined,
        id: message.id,
      });
    }
  }

  // ---- closing ---------------------------------------------------------------------------

  /**
   * Stops receiving. With `drain` (the default) buffered messages are still handled before it
   * resolves; without, they are dropped (durable ones are left for redelivery) and running
   * handlers are aborted. Either way it waits at most `deadlineMs` (default 10 s) for the
   * handlers; `signal` stops waiting at once. Throws `INVALID_OPTIONS` for a bad deadline.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    let deadlineMs: number;
    try {
      deadlineMs = closeDeadline(options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing = this.#close(options.drain ?? true, deadlineMs, options.signal);
    return this.#closing;
  }

  async #close(drain: boolean, deadlineMs: number, signal: AbortSignal | undefined): Promise<void> {
    this.options.signal?.removeEventListener('abort', this);
    try {
      await this.#transport?.close();
      if (!drain) this.#abandon(true, 'The subscription was closed without draining.');
      this.#buffer.close();
      const workers = Promise.all(this.#workers);
      if (this.#workers.length === 0 || (this.#busy === 0 && this.#buffer.length === 0)) {
        // No handler, or idle workers that end at once on the closed buffer: no deadline timer.
        await raceWithSignal(workers, signal);
      } else {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, deadlineMs);
        });
        try {
          await raceWithSignal(Promise.race([workers, deadline]), signal);
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      // Handlers past the deadline leave their buffer behind; a channel or iterator keeps it.
      this.#abandon(this.#handler !== undefined, 'The subscription closed.');
      this.#host.retire(this as Subscription<unknown>);
    }
  }

  /** Aborts the handlers and (with `drop`) drops what is still buffered; durable messages are nak'd. */
  #abandon(drop: boolean, reason: string): void {
    for (let next = drop ? this.#buffer.tryRecv() : undefined; next !== undefined && !next.done; ) {
      this.#dropped++;
      if (next.value instanceof DurableItem) next.value.delivery.nak();
      next = this.#buffer.tryRecv();
    }
    if (!this.#stop.signal.aborted) this.#stop.abort(new AbortedError(reason));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Calls `handler` with the message's tenant as the current tenant (none when it has none) and,
 * when traced, inside a `process <topic>` span (kind CONSUMER) continuing the publisher's trace.
 */
function runHandler<T>(handler: (message: Envelope<T>) => unknown, message: Envelope<T>): unknown {
  if (!tracingEnabled()) return runAsTenant(handler, message);
  return inSpan(
    `process ${message.topic}`,
    SpanKind.CONSUMER,
    {
      'messaging.system': 'agentfleet',
      'messaging.operation.type': 'process',
      'messaging.destination.name': message.topic,
      'messaging.message.id': message.id,
    },
    () => runAsTenant(handler, message),
    { parent: contextFromTraceparent(message.traceparent) },
  );
}

function runAsTenant<T>(handler: (message: Envelope<T>) => unknown, message: Envelope<T>): unknown {
  const tenant = message.tenant;
  if (tenant === undefined)
    return currentTenantId() === undefined ? handler(message) : withoutTenant(() => handler(message));
  return runInTenant(tenantContext(tenant), handler, message);
}

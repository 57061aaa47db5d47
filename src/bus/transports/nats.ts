import { setImmediate } from 'node:timers/promises';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  type ConnectionOptions,
  connect,
  createInbox,
  type Msg,
  type NatsConnection,
  headers as natsHeaders,
  nkeyAuthenticator,
  type Subscription,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node';
import { AbortedError, AgentfleetError, InvalidOptionsError, raceWithSignal } from '../../errors/index.ts';
import { BusClosedError, NoRespondersError, SubscriptionLostError, TransportError } from '../errors.ts';
import type {
  DurableOptions,
  IdempotencyStore,
  OutgoingMessage,
  Transport,
  TransportFeatures,
  TransportSink,
  TransportSubscribeOptions,
  TransportSubscription,
} from '../transport.ts';
import { ensureStreams, subscribeDurable } from './nats-durable.ts';
import { natsIdempotencyStore } from './nats-idempotency.ts';
import {
  type NatsTransportOptions,
  parseNatsOptions,
  type ResolvedNatsOptions,
  type ResolvedStream,
  streamCovering,
  streamStoring,
} from './nats-options.ts';

export type { NatsStreamOptions, NatsTransportOptions } from './nats-options.ts';

/** A NATS transport (always with an idempotency store), with its connection for raw-client callers. */
export type NatsTransport = Transport &
  Required<Pick<Transport, 'idempotencyStore'>> & { readonly connection: NatsConnection };

/** Distinct topics whose stream lookup is cached before the cache starts over. */
const STORED_CACHE_LIMIT = 10_000;

const ignore = () => {};

/**
 * Connects the bus to NATS. Bus topics are NATS subjects as they are. Topics a configured
 * stream covers are published through JetStream (acknowledged once stored, deduplicated by
 * envelope id) and can have durable subscriptions; every other topic travels on core NATS.
 * Throws `INVALID_OPTIONS` for bad options, `TRANSPORT_FAILED` when it cannot connect or
 * create the streams, `ABORTED` when `signal` fires first.
 */
export async function natsTransport(options: NatsTransportOptions = {}): Promise<NatsTransport> {
  const resolved = parseNatsOptions(options);
  const signal = resolved.signal;
  if (signal === undefined) return open(resolved);
  if (signal.aborted) throw new AbortedError();
  const opening = open(resolved);
  try {
    return await raceWithSignal(opening, signal);
  } catch (error) {
    opening.then((transport) => transport.close(), ignore);
    throw error;
  }
}

async function open(options: ResolvedNatsOptions): Promise<NatsTransportImpl> {
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(options));
  } catch (error) {
    throw new TransportError('nats', 'connect', error);
  }
  const transport = new NatsTransportImpl(nc, options.streams);
  if (options.streams.length === 0) return transport;
  try {
    await ensureStreams(await transport.manager(), options.streams);
  } catch (error) {
    await transport.close();
    throw AgentfleetError.isInstance(error) ? error : new TransportError('nats', 'create the streams', error);
  }
  return transport;
}

/** The client options, credentials included (never logged). */
function connectionOptions(options: ResolvedNatsOptions): ConnectionOptions {
  const o: ConnectionOptions = { servers: options.servers };
  if (options.name !== undefined) o.name = options.name;
  const auth = options.auth;
  if (auth !== undefined) {
    if ('user' in auth) o.authenticator = usernamePasswordAuthenticator(auth.user, auth.pass);
    else if ('token' in auth) o.authenticator = tokenAuthenticator(auth.token);
    else o.authenticator = nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed));
  }
  if (options.tls !== undefined) o.tls = { ...options.tls };
  return o;
}

class NatsTransportImpl implements NatsTransport {
  readonly name = 'nats';
  readonly features: TransportFeatures = {
    wire: true,
    durable: true,
    blockPublisher: false,
    knowsResponders: true,
  };
  readonly connection: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #streams: readonly ResolvedStream[];
  #stored = new Map<string, boolean>();
  #manager: Promise<JetStreamManager> | undefined;
  #probe: ResponderProbe | undefined;
  readonly #subscriptions = new Set<TransportSubscription>();
  #closing: Promise<void> | undefined;

  constructor(nc: NatsConnection, streams: readonly ResolvedStream[]) {
    this.connection = nc;
    this.#js = jetstream(nc);
    this.#streams = streams;
  }

  /** @internal the JetStream manager, made on first use. */
  manager(): Promise<JetStreamManager> {
    this.#manager ??= jetstreamManager(this.connection);
    return this.#manager;
  }

  publish(message: OutgoingMessage, signal?: AbortSignal): void | Promise<void> {
    if (this.#closing !== undefined) throw new BusClosedError();
    const envelope = message.envelope;
    const topic = envelope.topic;
    if (message.native !== undefined) {
      // A reply to a plain client: its JSON body, with the bus's headers as NATS headers.
      const h = natsHeaders();
      for (const [key, value] of Object.entries(message.native.headers)) h.set(key, value);
      try {
        this.connection.publish(topic, message.data, { headers: h });
      } catch (error) {
        throw new TransportError('nats', `publish on ${topic}`, error);
      }
      return;
    }
    if (this.#streams.length !== 0 && this.#isStored(topic)) {
      return this.#publishStored(topic, message.data, envelope.id, signal);
    }
    if (envelope.replyTo !== undefined) {
      this.#probe ??= new ResponderProbe(this.connection);
      return this.#probe.publish(topic, message.data);
    }
    try {
      this.connection.publish(topic, message.data);
    } catch (error) {
      throw new TransportError('nats', `publish on ${topic}`, error);
    }
  }

  async subscribe(
    pattern: string,
    options: TransportSubscribeOptions,
    sink: TransportSink,
  ): Promise<TransportSubscription> {
    if (this.#closing !== undefined) throw new BusClosedError();
    const durable = options.durable;
    const subscription =
      durable === undefined
        ? await this.#subscribeCore(pattern, options.queue, sink)
        : await this.#subscribeDurable(pattern, durable, sink);
    this.#subscriptions.add(subscription);
    return {
      close: async () => {
        this.#subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  async idempotencyStore(name: string, windowMs: number): Promise<IdempotencyStore> {
    if (this.#closing !== undefined) throw new BusClosedError();
    return natsIdempotencyStore(this.connection, name, windowMs);
  }

  async flush(signal?: AbortSignal): Promise<void> {
    if (this.#closing !== undefined) throw new BusClosedError();
    try {
      await raceWithSignal(this.connection.flush(), signal);
    } catch (error) {
      throw AgentfleetError.isInstance(error) ? error : new TransportError('nats', 'flush', error);
    }
  }

  /** Stops every subscription (durable consumers keep their position), then drains the connection. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#subscriptions].map((s) => s.close()));
    this.#subscriptions.clear();
    const nc = this.connection;
    if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    await nc.closed();
    // The socket was destroyed; its handle goes away in the event loop's next close phase.
    await setImmediate();
    await setImmediate();
  }

  #isStored(topic: string): boolean {
    let stored = this.#stored.get(topic);
    if (stored === undefined) {
      stored = streamStoring(this.#streams, topic) !== undefined;
      if (this.#stored.size >= STORED_CACHE_LIMIT) this.#stored = new Map();
      this.#stored.set(topic, stored);
    }
    return stored;
  }

  async #publishStored(
    topic: string,
    data: Uint8Array | undefined,
    id: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    try {
      await raceWithSignal(this.#js.publish(topic, data, { msgID: id }), signal);
    } catch (error) {
      throw AgentfleetError.isInstance(error) ? error : new TransportError('nats', `store ${topic}`, error);
    }
  }

  async #subscribeCore(
    pattern: string,
    queue: string | undefined,
    sink: TransportSink,
  ): Promise<TransportSubscription> {
    const callback = (error: Error | null, msg: Msg) => {
      if (error !== null) {
        // The server ended the subscription (a permissions violation): say so, never silently.
        try {
          sink.fail(new SubscriptionLostError('nats', pattern, error.message, error));
        } catch {
          // As below: a throw must not reach the client's parser.
        }
        return;
      }
      try {
        // Frames carry their own facts; a plain client's reply subject and traceparent are read here.
        const result =
          msg.reply === undefined && msg.headers === undefined
            ? sink.receive(msg.subject, msg.data)
            : sink.receive(msg.subject, msg.data, undefined, {
                replyTo: msg.reply,
                traceparent: msg.headers?.get('traceparent') || undefined,
              });
        if (result !== undefined) result.then(undefined, ignore);
      } catch {
        // The sink reports its own failures; a throw must not reach the client's parser.
      }
    };
    let sub: Subscription;
    try {
      sub = this.connection.subscribe(pattern, queue === undefined ? { callback } : { queue, callback });
      await this.connection.flush();
    } catch (error) {
      throw new TransportError('nats', `subscribe to ${pattern}`, error);
    }
    return { close: () => closeCore(sub) };
  }

  async #subscribeDurable(
    pattern: string,
    durable: DurableOptions,
    sink: TransportSink,
  ): Promise<TransportSubscription> {
    const stream = streamCovering(this.#streams, pattern);
    if (stream === undefined) {
      throw new InvalidOptionsError(
        `No configured stream stores every topic of ${pattern}, so it cannot have a durable subscription; ` +
          `add a stream whose subjects cover it to natsTransport({ streams }).`,
        { details: { pattern, streams: this.#streams.map((s) => s.name) } },
      );
    }
    let jsm: JetStreamManager;
    try {
      jsm = await this.manager();
    } catch (error) {
      throw new TransportError('nats', 'reach JetStream', error);
    }
    return subscribeDurable(this.#js, jsm, stream.name, pattern, durable, sink);
  }
}

async function closeCore(sub: Subscription): Promise<void> {
  if (sub.isClosed()) return;
  try {
    await sub.drain();
  } catch {
    sub.unsubscribe();
  }
}

/**
 * Tells at publish time whether anybody listens. The request goes out with a NATS reply
 * subject of this connection's own probe inbox; when nothing is subscribed, the server answers
 * there with a 503 status, and it does so before the reply to the flush that follows. Replies of
 * responders still go to the envelope's `replyTo`, which the bus waits on.
 */
class ResponderProbe {
  readonly #nc: NatsConnection;
  readonly #prefix = `${createInbox()}.`;
  /** Probe subject → whether the server said "no responders". */
  readonly #pending = new Map<string, boolean>();
  #next = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    nc.subscribe(`${this.#prefix}*`, {
      callback: (error, msg) => {
        if (error === null && msg.headers?.code === 503 && this.#pending.has(msg.subject)) {
          this.#pending.set(msg.subject, true);
        }
      },
    });
  }

  async publish(topic: string, data: Uint8Array | undefined): Promise<void> {
    const reply = this.#prefix + (++this.#next).toString(36);
    this.#pending.set(reply, false);
    try {
      this.#nc.publish(topic, data, { reply });
      await this.#nc.flush();
    } catch (error) {
      this.#pending.delete(reply);
      throw new TransportError('nats', `publish on ${topic}`, error);
    }
    const nobody = this.#pending.get(reply);
    this.#pending.delete(reply);
    if (nobody === true) throw new NoRespondersError(topic);
  }
}

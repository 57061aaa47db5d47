import { setImmediate } from 'node:timers/promises';
import mqtt, {
  type IClientOptions,
  type IClientPublishOptions,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { AbortedError, InvalidOptionsError, raceWithSignal } from '../../errors/index.ts';
import { BusClosedError, TransportError } from '../errors.ts';
import { topicMatches } from '../topic.ts';
import type {
  NativeFacts,
  OutgoingMessage,
  Transport,
  TransportFeatures,
  TransportSink,
  TransportSubscribeOptions,
  TransportSubscription,
} from '../transport.ts';
import { type MqttTransportOptions, parseMqttOptions, type ResolvedMqttOptions } from './mqtt-options.ts';
import { fromMqttTopic, toMqttFilter, toMqttTopic } from './mqtt-topics.ts';

export type { MqttTransportOptions } from './mqtt-options.ts';

/** An MQTT transport, with its client for callers that need the raw connection. */
export type MqttTransport = Transport & { readonly client: MqttClient };

const FEATURES: TransportFeatures = {
  wire: true,
  durable: false,
  blockPublisher: false,
  knowsResponders: false,
};

const ignore = () => {};

/**
 * Connects the bus to an MQTT 5 broker (Mosquitto, EMQX, HiveMQ …), for edge devices. Bus
 * topics map to MQTT topics (`.` ↔ `/`, `*` ↔ `+`, `>` ↔ `#`); queue groups are shared
 * subscriptions (`$share/<queue>/<filter>`, the queue named per tenant by the bus). Messages are at most once (QoS 0) or at least
 * once (QoS 1); there are no durable subscriptions. Throws `INVALID_OPTIONS` for bad options,
 * `TRANSPORT_FAILED` when it cannot connect, `ABORTED` when `signal` fires first.
 */
export async function mqttTransport(options: MqttTransportOptions = {}): Promise<MqttTransport> {
  const o = parseMqttOptions(options);
  if (o.signal?.aborted) throw new AbortedError();
  const client = mqtt.connect(o.url, clientOptions(o));
  client.on('error', ignore); // connection errors surface as failed operations, not as crashes
  try {
    await raceWithSignal(connected(client), o.signal);
  } catch (error) {
    client.end(true);
    if (error instanceof AbortedError) throw error;
    throw new TransportError('mqtt', `connect to ${o.url}`, error);
  }
  client.options.reconnectPeriod = o.reconnectPeriodMs;
  return new MqttTransportImpl(client, o.qos);
}

function clientOptions(o: ResolvedMqttOptions): IClientOptions {
  return {
    protocolVersion: 5,
    clientId: o.clientId,
    clean: true,
    connectTimeout: o.connectTimeoutMs,
    reconnectPeriod: 0, // fail fast on the first connect; reconnects are enabled once connected
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    ...(o.tls === undefined ? {} : { ...o.tls }),
  };
}

function connected(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      client.off('connect', onConnect).off('error', done).off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onConnect = () => done();
    const onClose = () => done(new Error('the broker closed the connection'));
    client.once('connect', onConnect).once('error', done).once('close', onClose);
  });
}

/** One MQTT subscription shared by every bus subscription with the same filter (MQTT allows one per filter). */
interface Route {
  readonly filter: string;
  readonly identifier: number;
  readonly queue: boolean;
  readonly members: Array<{ pattern: string; sink: TransportSink }>;
  ready: Promise<void>;
  next: number;
}

class MqttTransportImpl implements MqttTransport {
  readonly name = 'mqtt';
  readonly features = FEATURES;
  readonly client: MqttClient;
  readonly #qos: 0 | 1;
  readonly #routes = new Map<string, Route>();
  readonly #byIdentifier = new Map<number, Route>();
  #nextIdentifier = 1;
  #inFlight = 0;
  #flushed: Array<() => void> = [];
  #closing: Promise<void> | undefined;

  constructor(client: MqttClient, qos: 0 | 1) {
    this.client = client;
    this.#qos = qos;
    client.on('message', (topic, payload, packet) => {
      this.#route(topic, payload, packet.properties?.subscriptionIdentifier, nativeFacts(packet));
    });
  }

  publish(message: OutgoingMessage): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new BusClosedError());
    const topic = toMqttTopic(message.envelope.topic);
    const data = message.data as Uint8Array;
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const native = message.native;
    // A reply to a plain client: headers as MQTT 5 user properties, its correlation data echoed.
    const options: IClientPublishOptions =
      native === undefined
        ? { qos: this.#qos }
        : {
            qos: this.#qos,
            properties: {
              ...(Object.keys(native.headers).length === 0 ? {} : { userProperties: { ...native.headers } }),
              ...(native.correlationData === undefined
                ? {}
                : { correlationData: Buffer.from(native.correlationData) }),
            },
          };
    this.#inFlight++;
    return new Promise((resolve, reject) => {
      this.client.publish(topic, bytes, options, (error) => {
        this.#settled();
        if (error) reject(new TransportError('mqtt', `publish on ${topic}`, error));
        else resolve();
      });
    });
  }

  async subscribe(
    pattern: string,
    options: TransportSubscribeOptions,
    sink: TransportSink,
  ): Promise<TransportSubscription> {
    if (this.#closing !== undefined) throw new BusClosedError();
    if (options.durable !== undefined) {
      throw new InvalidOptionsError('The MQTT transport has no durable subscriptions; use NATS JetStream.');
    }
    const filter =
      options.queue === undefined
        ? toMqttFilter(pattern)
        : `$share/${options.queue}/${toMqttFilter(pattern)}`;
    let route = this.#routes.get(filter);
    if (route === undefined) route = this.#open(filter, options.queue !== undefined);
    const member = { pattern, sink };
    route.members.push(member);
    try {
      await route.ready;
    } catch (error) {
      this.#leave(route, member);
      throw error;
    }
    const joined = route;
    return { close: () => this.#leave(joined, member) };
  }

  flush(signal?: AbortSignal): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new BusClosedError());
    if (this.#inFlight === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#flushed.push(resolve));
    return signal === undefined ? done : raceWithSignal(done, signal);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.client.options.reconnectPeriod = 0;
    await new Promise<void>((resolve) => this.client.end(false, {}, () => resolve()));
    this.client.removeAllListeners('message');
    for (const resolve of this.#flushed.splice(0)) resolve();
    // The socket closed; its handle goes away in the event loop's next close phase.
    await setImmediate();
    await setImmediate();
  }

  #settled(): void {
    if (--this.#inFlight === 0) for (const resolve of this.#flushed.splice(0)) resolve();
  }

  #open(filter: string, queue: boolean): Route {
    const identifier = this.#nextIdentifier++;
    const route: Route = { filter, identifier, queue, members: [], ready: Promise.resolve(), next: 0 };
    this.#routes.set(filter, route);
    this.#byIdentifier.set(identifier, route);
    route.ready = this.client
      .subscribeAsync(filter, { qos: this.#qos, properties: { subscriptionIdentifier: identifier } })
      .then(
        (granted) => {
          const refused = granted.find((g) => g.qos > 2);
          if (refused !== undefined)
            throw new Error(`the broker refused the subscription (reason ${refused.qos})`);
        },
        (error: unknown) => {
          throw error;
        },
      )
      .catch((error: unknown) => {
        this.#routes.delete(filter);
        this.#byIdentifier.delete(identifier);
        throw new TransportError('mqtt', `subscribe to ${filter}`, error);
      });
    return route;
  }

  async #leave(route: Route, member: Route['members'][number]): Promise<void> {
    const index = route.members.indexOf(member);
    if (index < 0) return;
    route.members.splice(index, 1);
    if (route.members.length > 0 || this.#routes.get(route.filter) !== route) return;
    this.#routes.delete(route.filter);
    this.#byIdentifier.delete(route.identifier);
    if (this.#closing !== undefined || !this.client.connected) return;
    await this.client.unsubscribeAsync(route.filter).catch(ignore);
  }

  /** Hands a message to the subscriptions whose identifiers the broker attached. */
  #route(
    mqttTopic: string,
    payload: Buffer,
    identifiers: number | number[] | undefined,
    native: NativeFacts | undefined,
  ): void {
    if (identifiers === undefined) return; // every subscription of ours carries an identifier
    const topic = fromMqttTopic(mqttTopic);
    if (typeof identifiers === 'number')
      this.#deliver(this.#byIdentifier.get(identifiers), topic, payload, native);
    else for (const id of identifiers) this.#deliver(this.#byIdentifier.get(id), topic, payload, native);
  }

  #deliver(route: Route | undefined, topic: string, payload: Buffer, native: NativeFacts | undefined): void {
    if (route === undefined) return;
    const members = route.members;
    if (route.queue) {
      // The broker picked this client; pick one matching member of the group here.
      for (let tried = 0; tried < members.length; tried++) {
        const member = members[route.next++ % members.length];
        if (member !== undefined && topicMatches(member.pattern, topic)) {
          receive(member.sink, topic, payload, native);
          return;
        }
      }
      return;
    }
    for (const member of members)
      if (topicMatches(member.pattern, topic)) receive(member.sink, topic, payload, native);
  }
}

/**
 * The MQTT 5 request/response facts of a message, for plain (non-frame) clients: the response
 * topic (as a bus topic; one with `.`, `+`, `#` or `$` has no bus form and is ignored), the
 * correlation data, and the `traceparent` user property. Never the tenant.
 */
function nativeFacts(packet: IPublishPacket): NativeFacts | undefined {
  const p = packet.properties;
  if (p === undefined) return undefined;
  const response = p.responseTopic;
  const replyTo = response !== undefined && !/[.+#$]/.test(response) ? fromMqttTopic(response) : undefined;
  const trace = p.userProperties?.traceparent;
  const traceparent = Array.isArray(trace) ? trace[0] : trace;
  const correlationData = replyTo === undefined ? undefined : p.correlationData;
  if (replyTo === undefined && traceparent === undefined) return undefined;
  return { replyTo, traceparent, correlationData };
}

function receive(sink: TransportSink, topic: string, payload: Buffer, native: NativeFacts | undefined): void {
  try {
    const result =
      native === undefined ? sink.receive(topic, payload) : sink.receive(topic, payload, undefined, native);
    if (result !== undefined) result.then(undefined, ignore);
  } catch {
    // The sink reports its own failures; a throw must not reach the MQTT client.
  }
}

import { BusClosedError, NoRespondersError } from '../errors.ts';
import { MemoryIdempotencyStore } from '../idempotency.ts';
import { topicMatches } from '../topic.ts';
import type {
  IdempotencyStore,
  OutgoingMessage,
  Transport,
  TransportFeatures,
  TransportSink,
  TransportSubscribeOptions,
  TransportSubscription,
} from '../transport.ts';

interface Entry {
  readonly pattern: string;
  readonly sink: TransportSink;
}

/** Members of one queue group that match a topic; messages rotate between them. */
interface Group {
  readonly members: Entry[];
  next: number;
}

/** Who receives a topic: plain subscribers, and one member of each queue group. */
interface Route {
  readonly plain: Entry[];
  readonly groups: Group[];
}

const EMPTY_ROUTE: Route = { plain: [], groups: [] };

/**
 * The in-process "broker" that memory transports share: buses built on transports of the
 * same hub see each other's messages (one hub per transport unless you pass one).
 */
export class MemoryHub {
  readonly plain = new Set<Entry>();
  readonly queues = new Map<string, Set<Entry>>();
  routes = new Map<string, Route>();
  /** Handled ids per consumer name, shared by every idempotency store of that name on this hub. */
  readonly handled = new Map<string, Map<string, number>>();
}
/** Distinct topics whose routes are cached before the cache starts over. */
const ROUTE_CACHE_LIMIT = 10_000;

/**
 * The default transport: delivers envelopes inside this process, with no copy and no codec.
 * It is the only transport that can hold a publisher back when a subscriber's buffer is full.
 */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly features: TransportFeatures = {
    wire: false,
    durable: false,
    blockPublisher: true,
    knowsResponders: true,
  };
  readonly hub: MemoryHub;
  readonly #own = new Map<Entry, Set<Entry>>();
  #closed = false;

  /** @param hub share one to connect several buses in this process; default: a hub of its own. */
  constructor(hub: MemoryHub = new MemoryHub()) {
    this.hub = hub;
  }

  publish(message: OutgoingMessage): void | Promise<void> {
    if (this.#closed) throw new BusClosedError();
    const envelope = message.envelope;
    const route = this.#route(envelope.topic);
    let waits: Promise<void>[] | undefined;
    for (const entry of route.plain) waits = collect(waits, entry.sink.deliver(envelope));
    for (const group of route.groups) {
      const member = group.members[group.next++ % group.members.length] as Entry;
      waits = collect(waits, member.sink.deliver(envelope));
    }
    if (envelope.replyTo !== undefined && route.plain.length === 0 && route.groups.length === 0) {
      throw new NoRespondersError(envelope.topic);
    }
    if (waits === undefined) return;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  async subscribe(
    pattern: string,
    options: TransportSubscribeOptions,
    sink: TransportSink,
  ): Promise<TransportSubscription> {
    if (this.#closed) throw new BusClosedError();
    const hub = this.hub;
    const entry: Entry = { pattern, sink };
    const queue = options.queue;
    let set = hub.plain;
    if (queue !== undefined) {
      const key = `${queue}\u0000${pattern}`;
      set = hub.queues.get(key) ?? new Set<Entry>();
      hub.queues.set(key, set);
    }
    set.add(entry);
    this.#own.set(entry, set);
    hub.routes = new Map();
    return { close: async () => this.#remove(entry) };
  }

  async idempotencyStore(name: string, windowMs: number): Promise<IdempotencyStore> {
    if (this.#closed) throw new BusClosedError();
    let seen = this.hub.handled.get(name);
    if (seen === undefined) {
      seen = new Map();
      this.hub.handled.set(name, seen);
    }
    return new MemoryIdempotencyStore(windowMs, seen);
  }

  async flush(): Promise<void> {}

  /** Removes this transport's subscriptions from the hub; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const entry of [...this.#own.keys()]) this.#remove(entry);
  }

  #remove(entry: Entry): void {
    const set = this.#own.get(entry);
    if (set === undefined) return;
    this.#own.delete(entry);
    set.delete(entry);
    this.hub.routes = new Map();
  }

  #route(topic: string): Route {
    const hub = this.hub;
    const cached = hub.routes.get(topic);
    if (cached !== undefined) return cached;
    const plain = [...hub.plain].filter((entry) => topicMatches(entry.pattern, topic));
    const groups: Group[] = [];
    for (const members of hub.queues.values()) {
      const matching = [...members].filter((entry) => topicMatches(entry.pattern, topic));
      if (matching.length > 0) groups.push({ members: matching, next: 0 });
    }
    const route = plain.length === 0 && groups.length === 0 ? EMPTY_ROUTE : { plain, groups };
    if (hub.routes.size >= ROUTE_CACHE_LIMIT) hub.routes = new Map();
    hub.routes.set(topic, route);
    return route;
  }
}

function collect(
  waits: Promise<void>[] | undefined,
  result: void | Promise<void>,
): Promise<void>[] | undefined {
  if (result === undefined) return waits;
  if (waits === undefined) return [result];
  waits.push(result);
  return waits;
}

/** An in-process transport (the default when `createBus` gets none). */
export function memoryTransport(hub?: MemoryHub): MemoryTransport {
  return new MemoryTransport(hub);
}

import type { z } from 'zod';
import type { Bus, Envelope, Subscription } from '../bus/index.ts';
import {
  currentTenantId,
  runInTenant,
  type TenantContext,
  tenantContext,
  withoutTenant,
} from '../context/index.ts';
import { AgentfleetError, parseOptions } from '../errors/index.ts';
import { nameSchema } from './crdt-map.ts';
import { type CrdtDigest, digestOf, missingFrom, sameDigest } from './digest.ts';
import { CrdtError, invalidOp, parseCrdt } from './errors.ts';
import { HybridClock } from './hybrid-clock.ts';
import { assertNodeId } from './node-id.ts';
import {
  type CrdtReplicatorOptions,
  type CrdtReplicatorStats,
  DIGEST_CHUNK,
  deltaMessage,
  digestMessage,
  KINDS,
  optionsSchema,
} from './replicator-options.ts';
import { SharedCrdt, type SharedCrdtOptions, type SharedKind } from './shared-crdt.ts';

/**
 * Named CRDTs (counters, registers, sets, maps) shared by every replica that opens a
 * replicator of the same name on one bus, in one tenant. A local change is applied at once and
 * its delta published on `crdt.<name>.delta`; every `antiEntropyMs` each replica publishes a
 * digest of its state on `crdt.<name>.digest`, and a replica that sees a peer lacking
 * something answers with the missing delta, so replicas converge after lost, duplicated or
 * reordered messages and after a partition heals. Every incoming message is validated; a
 * malformed or foreign one is refused with a typed error (see `onInvalid`), never merged.
 * Memory is the CRDTs themselves: no message log is kept.
 *
 * ```ts
 * const shared = await CrdtReplicator.open({ bus, node: 'node-1', name: 'usage' });
 * const tokens = shared.crdt('tokens', 'g-counter');
 * tokens.update((c) => c.increment(120));
 * tokens.value(); // the total over every node
 * ```
 */
export class CrdtReplicator {
  /** This replica's node id. */
  readonly node: string;
  /** The replicator's name (its topics' second token). */
  readonly name: string;
  /** The tenant it was opened in (undefined: system scope); it merges only this tenant's messages. */
  readonly tenant: string | undefined;
  /** The hybrid logical clock of this replica's LWW writes. */
  readonly clock: HybridClock;
  readonly #bus: Bus;
  readonly #context: TenantContext | undefined;
  readonly #options: z.output<typeof optionsSchema>;
  readonly #objects = new Map<string, SharedCrdt>();
  readonly #deltaTopic: string;
  readonly #digestTopic: string;
  readonly #stats: CrdtReplicatorStats = {
    deltasSent: 0,
    deltasMerged: 0,
    digestsSent: 0,
    digestsReceived: 0,
    repairsSent: 0,
    invalid: 0,
    publishFailed: 0,
  };
  #subscription: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #lastDigestAt = 0;
  #closed = false;
  readonly #host = {
    checkLocal: () => this.#checkLocal(),
    publishLocal: (name: string, delta: unknown) => {
      this.#stats.deltasSent++;
      this.#publish(this.#deltaTopic, { from: this.node, name, delta });
    },
  };

  private constructor(options: z.output<typeof optionsSchema>, tenant: string | undefined) {
    this.#options = options;
    this.#bus = options.bus;
    this.node = assertNodeId(options.node);
    this.name = options.name;
    this.tenant = tenant;
    this.#context = tenant === undefined ? undefined : tenantContext(tenant);
    this.clock = new HybridClock({
      node: this.node,
      maxDriftMs: options.maxDriftMs,
      ...(options.wallClock && { wallClock: options.wallClock }),
    });
    this.#deltaTopic = `crdt.${this.name}.delta`;
    this.#digestTopic = `crdt.${this.name}.digest`;
  }

  /**
   * Opens a replica in the current tenant (none: system scope) and subscribes to the
   * replicator's topics. Throws `INVALID_OPTIONS`, `CRDT_NODE_ID_INVALID`, or the bus's errors.
   */
  static async open(options: CrdtReplicatorOptions): Promise<CrdtReplicator> {
    const replicator = new CrdtReplicator(
      parseOptions('CrdtReplicator', optionsSchema, options),
      currentTenantId(),
    );
    await replicator.#start();
    return replicator;
  }

  async #start(): Promise<void> {
    this.#subscription = await this.#inTenant(() =>
      this.#bus.subscribe(`crdt.${this.name}.*`, (message) => this.#receive(message), {
        whenFull: 'drop-oldest', // a dropped message is repaired by anti-entropy
      }),
    );
    this.#timer = setInterval(() => this.#inTenant(() => this.sync()), this.#options.antiEntropyMs);
    this.#timer.unref();
  }

  /**
   * The shared CRDT `name` of `kind`, created empty on first use (the same object after).
   * Declaring it asks peers for its state at once (a digest soon after). Throws
   * `CRDT_OP_INVALID` for a bad name or kind, a name of another kind, or past `maxObjects`.
   */
  crdt<K extends SharedKind>(name: string, kind: K, options?: SharedCrdtOptions): SharedCrdt<K> {
    this.#checkLocal();
    const known = this.#objects.get(name);
    if (known !== undefined) {
      if (known.kind !== kind)
        throw invalidOp('CrdtReplicator', `"${name}" is a ${known.kind}, not a ${kind}`);
      return known as SharedCrdt<K>;
    }
    return this.#declare(name, kind, options);
  }

  #declare<K extends SharedKind>(name: string, kind: K, options?: SharedCrdtOptions): SharedCrdt<K> {
    if (!nameSchema.safeParse(name).success)
      throw invalidOp('CrdtReplicator', `"${String(name).slice(0, 40)}" is not a name`);
    if (!KINDS.has(kind)) throw invalidOp('CrdtReplicator', `"${String(kind)}" is not a CRDT kind`);
    if (this.#objects.size >= this.#options.maxObjects)
      throw invalidOp('CrdtReplicator', `more than ${this.#options.maxObjects} shared CRDTs`);
    const shared = new SharedCrdt(this.#host, name, kind, this.clock, options);
    this.#objects.set(name, shared as SharedCrdt);
    this.#syncSoon();
    return shared;
  }

  /** The CRDT `name` if this replica shares it (declared or adopted), else undefined; declares nothing. */
  get(name: string): SharedCrdt | undefined {
    return this.#objects.get(name);
  }

  /**
   * Forgets the CRDT `name` here (true if it was shared): its memory is freed and it leaves this
   * replica's digests. Peers keep their copies; a later delta for it is refused (`CRDT_FOREIGN`)
   * or, with `adopt`, declared anew. Declaring it again here starts from empty, so a peer's older
   * copy repairs it: drop only what every replica drops (e.g. a deleted tenant's figures).
   */
  drop(name: string): boolean {
    return this.#objects.delete(name);
  }

  /** The names shared so far. */
  names(): string[] {
    return [...this.#objects.keys()];
  }

  /**
   * Publishes this replica's digests now (anti-entropy on demand; the timer does it every
   * `antiEntropyMs`). Resolves once they are published; failures are counted, not thrown.
   */
  async sync(): Promise<void> {
    if (this.#closed) return;
    this.#lastDigestAt = Date.now();
    let digests: Record<string, CrdtDigest> = {};
    let count = 0;
    const sends: Promise<void>[] = [];
    for (const [name, shared] of this.#objects) {
      digests[name] = digestOf(shared.crdt);
      if (++count === DIGEST_CHUNK) {
        sends.push(this.#publishDigest(digests));
        digests = {};
        count = 0;
      }
    }
    if (count > 0) sends.push(this.#publishDigest(digests));
    await Promise.all(sends);
  }

  stats(): CrdtReplicatorStats {
    return { ...this.#stats };
  }

  /** Stops the timers and unsubscribes; the CRDTs stay readable, `update` throws `CRDT_REPLICATOR_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    await this.#subscription?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- receiving -------------------------------------------------------------------------

  /** The bus handler: never throws; a refused message goes to `onInvalid`. */
  #receive(message: Envelope): void {
    const payload = message.payload as { from?: unknown } | null;
    if (payload !== null && typeof payload === 'object' && payload.from === this.node) return; // our own echo
    try {
      if (message.tenant !== this.tenant) {
        throw new CrdtError(
          'CRDT_FOREIGN',
          `A message of ${message.tenant === undefined ? 'no tenant' : `tenant "${message.tenant}"`} reached a replicator of ${this.tenant === undefined ? 'no tenant' : `tenant "${this.tenant}"`}.`,
          { details: { tenant: message.tenant ?? null } },
        );
      }
      const bytes = message.bytes ?? Buffer.byteLength(JSON.stringify(message.payload) ?? '');
      if (bytes > this.#options.maxMessageBytes) {
        throw new CrdtError(
          'CRDT_TOO_LARGE',
          `A ${bytes}-byte message on ${message.topic}; the limit is ${this.#options.maxMessageBytes}.`,
          { details: { bytes, limit: this.#options.maxMessageBytes } },
        );
      }
      if (message.topic === this.#deltaTopic) this.#onDelta(message.payload);
      else if (message.topic === this.#digestTopic) this.#onDigest(message.payload);
      else
        throw new CrdtError('CRDT_FOREIGN', `${message.topic} is not a topic of this replicator.`, {
          details: { topic: message.topic },
        });
    } catch (error) {
      this.#refuse(error, message);
    }
  }

  #onDelta(payload: unknown): void {
    const { name, delta } = parseCrdt('CRDT delta message', deltaMessage, payload);
    const shared = this.#objects.get(name) ?? this.#adopt(name);
    if (shared === undefined) {
      throw new CrdtError(
        'CRDT_FOREIGN',
        `A delta for "${name.slice(0, 40)}", which this replica does not share.`,
        {
          details: { name: name.slice(0, 128) },
        },
      );
    }
    shared.mergeJson(delta);
    this.#stats.deltasMerged++;
  }

  #onDigest(payload: unknown): void {
    const { digests } = parseCrdt('CRDT digest message', digestMessage, payload);
    this.#stats.digestsReceived++;
    let behind = false;
    for (const name of Object.keys(digests)) {
      const shared = this.#objects.get(name) ?? this.#adopt(name);
      if (shared === undefined) continue; // a name only the peer shares: nothing to compare
      const theirs = digests[name] as CrdtDigest;
      const missing = missingFrom(shared.crdt, theirs);
      if (missing !== undefined) {
        this.#stats.repairsSent++;
        this.#publish(this.#deltaTopic, { from: this.node, name, delta: missing });
      } else if (!sameDigest(digestOf(shared.crdt), theirs)) {
        behind = true; // the peer holds something this replica lacks: ask with a digest now
      }
    }
    if (behind) this.#syncSoon();
  }

  /** A peer's name declared here if `adopt` gives it a kind (undefined otherwise, or past `maxObjects`). */
  #adopt(name: string): SharedCrdt | undefined {
    const adopt = this.#options.adopt;
    if (adopt === undefined || this.#objects.size >= this.#options.maxObjects) return undefined;
    let kind: SharedKind | undefined;
    try {
      kind = this.#inTenant(() => adopt(name));
    } catch {
      return undefined;
    }
    return kind !== undefined && KINDS.has(kind) ? this.#declare(name, kind) : undefined;
  }

  #refuse(error: unknown, message: Envelope): void {
    this.#stats.invalid++;
    const typed =
      error instanceof CrdtError
        ? error
        : new CrdtError(
            'CRDT_INVALID',
            `A message on ${message.topic} could not be merged: ${String(error)}`,
            {
              cause: error,
            },
          );
    const hook = this.#options.onInvalid;
    try {
      // In this replicator's tenant, not the refused message's.
      if (hook !== undefined) this.#inTenant(() => hook(typed, message));
    } catch {
      // the hook's own failure must not reach the bus handler
    }
  }

  // ---- sending ---------------------------------------------------------------------------

  #publishDigest(digests: Record<string, CrdtDigest>): Promise<void> {
    this.#stats.digestsSent++;
    return this.#publish(this.#digestTopic, { from: this.node, digests });
  }

  #publish(topic: string, payload: unknown): Promise<void> {
    try {
      return this.#inTenant(() => this.#bus.publish(topic, payload)).catch(() => {
        this.#stats.publishFailed++;
      });
    } catch {
      this.#stats.publishFailed++;
      return Promise.resolve();
    }
  }

  /** A digest soon (at most one per quarter period), so a peer ahead of this replica repairs it without waiting a whole period. */
  #syncSoon(): void {
    if (this.#soon !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastDigestAt + this.#options.antiEntropyMs / 4 - Date.now());
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#inTenant(() => this.sync());
    }, wait);
    this.#soon.unref();
  }

  #checkLocal(): void {
    if (this.#closed)
      throw new CrdtError('CRDT_REPLICATOR_CLOSED', `The CRDT replicator "${this.name}" is closed.`);
    const current = currentTenantId();
    if (current !== undefined && current !== this.tenant) {
      throw new AgentfleetError(
        'TENANT_MISMATCH',
        `Code running as tenant "${current}" cannot change the shared CRDTs of ${this.tenant === undefined ? 'the system scope' : `tenant "${this.tenant}"`}.`,
      );
    }
  }

  #inTenant<R>(fn: () => R): R {
    return this.#context === undefined ? withoutTenant(fn) : runInTenant(this.#context, fn);
  }
}

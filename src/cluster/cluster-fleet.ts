import { z } from 'zod';
import type { Bus, Subscription } from '../bus/index.ts';
import { currentTenantId, withoutTenant, withTenant } from '../context/index.ts';
import { type AgentInfo, AgentNotFoundError } from '../core/index.ts';
import { AgentfleetError, InvalidOptionsError } from '../errors/index.ts';
import type { AgentDirectory } from './agent-directory.ts';
import type { AgentRecord, StoredAgent } from './agent-record.ts';
import type { ClusterTenantUsage, ClusterUsage } from './cluster-usage.ts';
import { type CallMessage, type ClusterSubjects, clusterSubjects } from './cluster-wire.ts';
import { AgentOwnerLostError, ClusterCallInvalidError, DefinitionUnavailableError } from './errors.ts';
import type {
  AgentFleet,
  CreateFleetAgent,
  FleetAgentSummary,
  FleetReply,
  FleetSendOptions,
  ListFleetAgentsOptions,
  StateCall,
} from './fleet.ts';
import { CallRefusedError, FleetClient } from './fleet-client.ts';
import type { AgentCall, FleetHost } from './fleet-host.ts';
import { FleetServer } from './fleet-server.ts';
import type { LeaseStore } from './lease-store.ts';
import { Membership } from './membership.ts';
import { placeAgent } from './placement.ts';

/** Options of `ClusterFleet.open`. */
export interface ClusterFleetOptions {
  /** This node's id (unique among live nodes: `NODE_ID_TAKEN` otherwise). */
  nodeId: string;
  /** The cluster's name: its subjects on the bus are `agentfleet.cluster.<name>.…`, apart from another cluster's. Default `agentfleet`. */
  name?: string;
  bus: Bus;
  directory: AgentDirectory;
  /** Where membership heartbeats live; its lease time is how fast a dead node's agents move. */
  leases: LeaseStore;
  host: FleetHost;
  /** An agent with nothing to do for this long leaves memory (0: never). Default 10 minutes. */
  hibernateAfterMs?: number;
  /** How long a call to another node may take, ms. Default 5 minutes. */
  callTimeoutMs?: number;
  /** Calls from other nodes run at once. Default 4,096. */
  maxInFlight?: number;
  /** The agents with unfinished runs of a node, for taking over a dead node's runs. */
  unfinishedRuns?: (owner: string) => AsyncIterable<{ tenant: string | undefined; agentId: string }>;
  /**
   * Called on every node, in the system scope, when a tenant is deleted anywhere in the cluster
   * (the deleting node and each one that gets the notice): drop what this node keeps of it
   * beyond its agents (a budget's spending counters, say), so no peer brings it back.
   */
  forgetTenant?: (tenant: string) => void;
  /** Told of background failures (a take-over, a hibernation) that no caller sees. */
  report?: (error: unknown, what: string) => void;
  /**
   * Counts each tenant's agent records and messages cluster-wide; with it, `create` admits a
   * tenant's agent against the cluster's count (its `admission`, e.g. `maxAgents`). The fleet
   * does not close it.
   */
  usage?: ClusterUsage;
}

interface Active {
  readonly tenant: string | undefined;
  readonly id: string;
  record: AgentRecord;
  revision: number;
  lastUsed: number;
  inFlight: number;
  /** State writes of this agent, one after the other (each flushed to the directory). */
  writes: Promise<unknown>;
}

const MAX_HOPS = 3;
/** Agents whose owner a node remembers (about 100 bytes each). */
const OWNER_CACHE = 100_000;
const keyOf = (tenant: string | undefined, id: string) => `${tenant ?? ''}/${id}`;
/** Calls that change what the record keeps (state, stopped): answered once the record has it. */
const mutates = (call: AgentCall) =>
  (call.op === 'state' && call.state.op !== 'get') || call.op === 'stop' || call.op === 'start';
/** What a node tells the others when a tenant was deleted (its agents leave every node's memory). */
const tenantDeletedSchema = z.strictObject({
  tenant: z.string().min(1).max(64),
  from: z.string(),
  /** When it was deleted (ms since the epoch): the generation of its usage counters from then on. */
  at: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});

/**
 * Agents across a cluster of nodes, each active on exactly one node at a time. The directory
 * holds every agent's record; its `owner` says which node has it active, and a node becomes
 * owner only by a compare-and-set on the record, only while that node is a live member (its
 * heartbeat lease) — so of two racing nodes one wins, and a dead node's agents are taken over
 * only once its heartbeat has run out, when it has stopped serving by its own clock.
 *
 * A call for an agent goes to its owner (over the bus), or, when it has none (hibernated, new,
 * or its owner died), to the node placement picks, which activates it from its record. Idle
 * agents hibernate: their state goes into the record and they leave memory. A joining node
 * takes its share of idle agents; a leaving node drains its agents and hands them over.
 */
export class ClusterFleet implements AgentFleet {
  readonly clustered = true;
  readonly nodeId: string;
  readonly #bus: Bus;
  readonly #directory: AgentDirectory;
  readonly #leases: LeaseStore;
  readonly #host: FleetHost;
  readonly #options: ClusterFleetOptions;
  readonly #hibernateAfterMs: number;
  readonly #active = new Map<string, Active>();
  /** Activations and deactivations under way, per agent: calls wait for them. */
  readonly #moving = new Map<string, Promise<unknown>>();
  readonly #subjects: ClusterSubjects;
  /** Where agents active on other nodes answered from, newest last (a hint: the record decides). */
  readonly #owners = new Map<string, string>();
  readonly #client: FleetClient;
  readonly #server: FleetServer;
  #tenantNotices: Subscription<unknown> | undefined;
  #membership: Membership;
  #members: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #leaving = false;
  #closed: Promise<void> | undefined;

  private constructor(options: ClusterFleetOptions, membership: Membership) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.#bus = options.bus;
    this.#directory = options.directory;
    this.#leases = options.leases;
    this.#host = options.host;
    this.#membership = membership;
    this.#hibernateAfterMs = options.hibernateAfterMs ?? 600_000;
    this.#subjects = clusterSubjects(options.name ?? 'agentfleet');
    this.#client = new FleetClient(
      options.bus,
      options.nodeId,
      options.callTimeoutMs ?? 300_000,
      this.#subjects,
    );
    this.#server = new FleetServer(
      options.bus,
      options.nodeId,
      (message, o) => this.#serve(message, o),
      options.maxInFlight ?? 4_096,
      this.#subjects,
    );
  }

  /** Joins the cluster and starts serving calls. @throws NodeIdTakenError, LeaseStoreUnavailableError. */
  static async open(options: ClusterFleetOptions): Promise<ClusterFleet> {
    if (options?.name !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(options.name))
      throw new InvalidOptionsError(
        `A cluster name is 1-64 letters, digits, _ or -; got ${JSON.stringify(options.name)}.`,
      );
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(options?.nodeId ?? ''))
      throw new InvalidOptionsError(
        `A cluster node id is 1-128 letters, digits, _ or -; got ${JSON.stringify(options?.nodeId)}.`,
      );
    const hibernate = options.hibernateAfterMs ?? 600_000;
    if (!Number.isInteger(hibernate) || hibernate < 0)
      throw new InvalidOptionsError(`hibernateAfterMs must be a whole number of ms; got ${hibernate}.`);
    const membership = await withoutTenant(() => Membership.join(options.leases, options.nodeId));
    const fleet = new ClusterFleet(options, membership);
    try {
      await fleet.#client.open();
      await fleet.#server.open();
      fleet.#tenantNotices = await withoutTenant(() =>
        options.bus.subscribe(fleet.#subjects.tenantDeleted, (message) =>
          fleet.#tenantDeleted(message.payload),
        ),
      );
      fleet.#members = await membership.members();
    } catch (error) {
      await fleet.#tenantNotices?.close();
      await fleet.#client.close();
      await fleet.#server.close();
      await membership.leave();
      throw error;
    }
    const every = Math.max(20, Math.floor(options.leases.leaseMs / 3));
    fleet.#timer = withoutTenant(() =>
      setInterval(() => {
        fleet.#ticking ??= fleet.tick().finally(() => {
          fleet.#ticking = undefined;
        });
      }, every),
    );
    fleet.#timer.unref();
    return fleet;
  }

  /** The live nodes, as last seen. */
  get members(): readonly string[] {
    return this.#members;
  }

  /** Agents active on this node. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** The cluster-wide usage counters, when the fleet was given them. */
  get usage(): ClusterUsage | undefined {
    return this.#options.usage;
  }

  /** The tenant's agents and messages over the whole cluster (undefined without `usage`). */
  clusterUsage(tenant: string): ClusterTenantUsage | undefined {
    return this.#options.usage?.of(tenant);
  }

  /** Whether this node has the current tenant's agent `id` active now. */
  isActiveHere(id: string): boolean {
    return this.#live() && this.#active.has(keyOf(currentTenantId(), id));
  }

  // --- the fleet API, in the caller's tenant ---

  async create(agent: CreateFleetAgent): Promise<AgentInfo> {
    const tenant = currentTenantId();
    const usage = this.#options.usage;
    if (!this.#host.canActivate(agent.definition)) await this.#host.loadDefinition?.(agent.definition);
    const prepared = this.#host.prepare(agent);
    if (tenant !== undefined) usage?.admitAgent(tenant); // QUOTA_EXCEEDED against every node's agents
    const record: AgentRecord = {
      v: 1,
      ...(tenant === undefined ? {} : { tenant }),
      id: prepared.id,
      definition: prepared.definition,
      ...(prepared.config === undefined ? {} : { config: prepared.config }),
      createdAt: Date.now(),
      ...(agent.start === false ? { unstarted: true as const } : {}),
    };
    await this.#directory.create(record);
    if (tenant !== undefined) usage?.agentCreated(tenant);
    return (await this.#call(prepared.id, { op: 'activate' }, {}, 0)) as AgentInfo;
  }

  async info(id: string): Promise<AgentInfo> {
    return (await this.#call(id, { op: 'info' }, {}, 0)) as AgentInfo;
  }

  async send(id: string, input: unknown, options: FleetSendOptions = {}): Promise<FleetReply> {
    const call: AgentCall =
      options.runId === undefined ? { op: 'send', input } : { op: 'send', input, runId: options.runId };
    return (await this.#call(id, call, options, 0)) as FleetReply;
  }

  async start(id: string): Promise<AgentInfo> {
    return (await this.#call(id, { op: 'start' }, {}, 0)) as AgentInfo;
  }

  async stop(
    id: string,
    options: { timeoutMs?: number; drain?: boolean } = {},
  ): Promise<{ forced: boolean; agent: AgentInfo }> {
    return (await this.#call(id, { op: 'stop', ...options }, {}, 0)) as { forced: boolean; agent: AgentInfo };
  }

  async remove(id: string): Promise<{ state?: string; forced: boolean }> {
    return (await this.#call(id, { op: 'remove' }, {}, 0)) as { state?: string; forced: boolean };
  }

  state(id: string, call: StateCall): Promise<unknown> {
    return this.#call(id, { op: 'state', state: call }, {}, 0);
  }

  async exists(id: string): Promise<boolean> {
    return (await this.#directory.get(currentTenantId(), id)) !== undefined;
  }

  /** The caller's agents from the directory, in id order (a page may hold fewer than `limit` when `definition` filters). */
  async list(options: ListFleetAgentsOptions = {}): Promise<FleetAgentSummary[]> {
    const records = await this.#directory.list(currentTenantId(), {
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.after === undefined ? {} : { after: options.after }),
    });
    return records
      .filter((r) => options.definition === undefined || r.definition === options.definition)
      .map((r) => ({
        id: r.id,
        definition: r.definition,
        createdAt: r.createdAt,
        ...(r.tenant === undefined ? {} : { tenant: r.tenant }),
        node: r.owner ?? null,
        ...(r.stopped === true ? { stopped: true } : {}),
        ...(r.unstarted === true ? { unstarted: true } : {}),
      }));
  }

  /**
   * Deletes a tenant's agents cluster-wide: every node drops those it has active (told over the
   * bus), and their records go. Resolves with how many records were deleted.
   */
  async purgeTenant(tenant: string): Promise<{ agents: number }> {
    const at = Date.now();
    await this.#dropTenant(tenant, at);
    await withoutTenant(() =>
      this.#bus
        .publish(this.#subjects.tenantDeleted, { tenant, from: this.nodeId, at })
        .catch((error) => this.#options.report?.(error, 'tenant deletion notice')),
    );
    return { agents: await this.#directory.purgeTenant(tenant) };
  }

  /** Takes the tenant's agents out of this node's memory without writing their records back. */
  async #dropTenant(tenant: string, at: number): Promise<void> {
    this.#options.usage?.dropTenant(tenant, at);
    this.#options.forgetTenant?.(tenant);
    for (const key of this.#owners.keys()) if (key.startsWith(`${tenant}/`)) this.#owners.delete(key);
    const mine = [...this.#active.values()].filter((a) => a.tenant === tenant);
    for (const active of mine) this.#active.delete(keyOf(active.tenant, active.id));
    await withTenant(tenant, () =>
      Promise.allSettled(mine.map((active) => this.#host.deactivate(active.id))),
    );
  }

  /** Runs `call` wherever the current tenant's agent `id` is active (a run resumed after an approval or on a new owner). */
  call(id: string, call: AgentCall, options: FleetSendOptions = {}): Promise<unknown> {
    return this.#call(id, call, options, 0);
  }

  // --- routing ---

  async #call(id: string, call: AgentCall, options: FleetSendOptions, hops: number): Promise<unknown> {
    const tenant = currentTenantId();
    const key = keyOf(tenant, id);
    // A dead owner is still a member until its heartbeat runs out: keep trying that long.
    const giveUpAt = performance.now() + this.#leases.leaseMs * 2 + 1_000;
    for (let attempt = 0; ; attempt++) {
      await this.#moving.get(key);
      const local = this.#live() ? this.#active.get(key) : undefined;
      if (local !== undefined) return this.#invoke(local, call, options);
      // The owner last seen, without reading the record: a node that no longer has the agent
      // reads it and forwards the call (or activates it), so a stale entry costs one hop.
      const cached = attempt === 0 && hops === 0 ? this.#owners.get(key) : undefined;
      if (cached !== undefined && this.#members.includes(cached)) {
        try {
          return await this.#client.call(cached, id, call, { ...options, hops: 1 });
        } catch (error) {
          this.#owners.delete(key);
          if (!retryable(error)) throw error;
        }
      }
      const stored = await this.#directory.get(tenant, id);
      if (stored === undefined) throw new AgentNotFoundError(id);
      if (call.op === 'remove' && stored.record.owner === undefined) {
        if (await this.#directory.delete(tenant, id, stored.revision)) this.#removed(tenant);
        return { forced: false };
      }
      const owner = stored.record.owner;
      // An owner this node does not know may have joined since it last looked: look again
      // before taking its agent (only a node whose heartbeat has run out loses its agents).
      const unknownOwner = owner !== undefined && owner !== this.nodeId && !this.#members.includes(owner);
      if (attempt > 0 || unknownOwner) await this.#refreshMembers();
      const target =
        owner !== undefined && owner !== this.nodeId && this.#members.includes(owner)
          ? owner
          : hops > 0 || owner === this.nodeId
            ? this.nodeId
            : (placeAgent(keyOf(tenant, id), this.#members) ?? this.nodeId);
      try {
        if (target === this.nodeId) {
          if (this.#leaving || !this.#live())
            throw new CallRefusedError('AGENT_OWNER_LOST', 'this node is leaving');
          const active = await this.#activate(key, stored);
          if (active !== undefined) return this.#invoke(active, call, options);
          continue; // another node won the record: look again
        }
        if (hops >= MAX_HOPS) throw new AgentOwnerLostError(id, target);
        const value = await this.#client.call(target, id, call, { ...options, hops: hops + 1 });
        if (hops === 0 && call.op !== 'remove') this.#remember(key, target);
        return value;
      } catch (error) {
        if (!retryable(error)) throw error;
        // Nothing ran: past the deadline, the caller is told the owner is gone (and may retry).
        if (performance.now() > giveUpAt) throw new AgentOwnerLostError(id, target);
        if (hops > 0) throw error; // the first node retries, not the ones it forwarded to
        await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500));
      }
    }
  }

  /** Notes where an agent answered from; the oldest entry goes past `OWNER_CACHE` entries. */
  #remember(key: string, node: string): void {
    this.#owners.delete(key);
    this.#owners.set(key, node);
    if (this.#owners.size > OWNER_CACHE) this.#owners.delete(this.#owners.keys().next().value as string);
  }

  /** A call from another node: run it here if the agent is (or may become) active here. */
  #serve(message: CallMessage, options: FleetSendOptions): Promise<unknown> {
    return this.#call(message.id, message.call, options, message.hops);
  }

  async #invoke(active: Active, call: AgentCall, options: FleetSendOptions): Promise<unknown> {
    active.inFlight++;
    active.lastUsed = performance.now();
    try {
      if (call.op === 'activate') return await this.#host.invoke(active.id, { op: 'info' }, options);
      if (call.op === 'remove') return await this.#remove(active);
      if (!mutates(call)) {
        const value = await this.#host.invoke(active.id, call, options);
        if (call.op === 'send' && active.tenant !== undefined)
          this.#options.usage?.messageHandled(active.tenant);
        return value;
      }
      // A state write is answered only once the directory has it: a node that dies next loses nothing acknowledged.
      const write = active.writes.then(async () => {
        const value = await this.#host.invoke(active.id, call, options);
        await this.#flush(active, call);
        return value;
      });
      active.writes = write.catch(() => {});
      return await write;
    } finally {
      active.inFlight--;
      active.lastUsed = performance.now();
    }
  }

  async #remove(active: Active): Promise<unknown> {
    const key = keyOf(active.tenant, active.id);
    const result = await this.#host.invoke(active.id, { op: 'remove' }, {});
    this.#active.delete(key);
    if (await this.#directory.delete(active.tenant, active.id)) this.#removed(active.tenant);
    return result;
  }

  #removed(tenant: string | undefined): void {
    if (tenant !== undefined) this.#options.usage?.agentRemoved(tenant);
  }

  async #flush(active: Active, call?: AgentCall): Promise<void> {
    const state = this.#host.snapshot(active.id);
    const record: AgentRecord = { ...active.record };
    if (state === undefined) delete record.state;
    else record.state = state;
    if (call?.op === 'stop') record.stopped = true;
    if (call?.op === 'stop' || call?.op === 'start') delete record.unstarted;
    const updated = await this.#directory.update(record, active.revision);
    if (updated === undefined) {
      // Another node owns the record now (this node was cut off): this copy must go.
      this.#active.delete(keyOf(active.tenant, active.id));
      await this.#host.deactivate(active.id).catch(() => undefined);
      throw new AgentOwnerLostError(active.id, this.nodeId);
    }
    active.record = updated.record;
    active.revision = updated.revision;
  }

  #activate(key: string, stored: StoredAgent): Promise<Active | undefined> {
    const existing = this.#moving.get(key) as Promise<Active | undefined> | undefined;
    if (existing !== undefined) return existing.then(() => this.#active.get(key));
    const activation = this.#doActivate(key, stored).finally(() => this.#moving.delete(key));
    this.#moving.set(key, activation);
    return activation;
  }

  async #doActivate(key: string, stored: StoredAgent): Promise<Active | undefined> {
    const { record } = stored;
    // A tenant's own definition may have been put on another node a moment ago: catch up first.
    if (!this.#host.canActivate(record.definition)) await this.#host.loadDefinition?.(record.definition);
    if (!this.#host.canActivate(record.definition))
      throw new DefinitionUnavailableError(record.id, record.definition);
    const claimed: AgentRecord = { ...record, owner: this.nodeId };
    delete claimed.hibernatedAt;
    const updated = await this.#directory.update(claimed, stored.revision);
    if (updated === undefined) return undefined;
    try {
      if (this.#host.has(record.id)) await this.#host.deactivate(record.id); // a copy from before this node lost its place
      await this.#host.activate(updated.record);
    } catch (error) {
      const released: AgentRecord = { ...updated.record };
      delete released.owner;
      await this.#directory.update(released, updated.revision).catch(() => undefined);
      throw error;
    }
    const active: Active = {
      tenant: record.tenant,
      id: record.id,
      record: updated.record,
      revision: updated.revision,
      lastUsed: performance.now(),
      inFlight: 0,
      writes: Promise.resolve(),
    };
    this.#active.set(key, active);
    return active;
  }

  /** Takes an agent out of memory, its state into its record (which then has no owner). */
  #deactivate(active: Active): Promise<void> {
    const key = keyOf(active.tenant, active.id);
    const current = this.#moving.get(key);
    if (current !== undefined) return current.then(() => undefined);
    const run = (async () => {
      await active.writes;
      this.#active.delete(key);
      const state = await inTenant(active.tenant, () => this.#host.deactivate(active.id));
      const record: AgentRecord = { ...active.record, hibernatedAt: Date.now() };
      delete record.owner;
      if (state === undefined) delete record.state;
      else record.state = state;
      const updated = await this.#directory.update(record, active.revision);
      if (updated === undefined)
        this.#options.report?.(new AgentOwnerLostError(active.id, this.nodeId), 'hibernate');
    })().finally(() => this.#moving.delete(key));
    this.#moving.set(key, run);
    return run;
  }

  #live(): boolean {
    return this.#membership.keeper.holds(`node.${this.nodeId}`);
  }

  async #refreshMembers(): Promise<void> {
    const before = this.#members;
    const now = await this.#membership.members();
    this.#members = now;
    const gone = before.filter((node) => !now.includes(node));
    for (const node of gone) this.#client.nodeGone(node);
    if (gone.length > 0) void this.#adoptRuns(gone);
    if (now.some((node) => !before.includes(node))) void this.#rebalance();
  }

  #tenantDeleted(payload: unknown): Promise<void> | undefined {
    const notice = tenantDeletedSchema.safeParse(payload);
    if (!notice.success) {
      this.#options.report?.(
        new ClusterCallInvalidError('a tenant deletion notice is malformed'),
        'tenant deletion notice',
      );
      return undefined;
    }
    if (notice.data.from === this.nodeId) return undefined;
    return this.#dropTenant(notice.data.tenant, notice.data.at ?? Date.now());
  }

  /** One round of the background work: membership, rejoining, hibernation. The timer calls it; tests may too. */
  async tick(): Promise<void> {
    if (this.#closed !== undefined) return;
    try {
      if (!this.#live()) await this.#rejoin();
      await this.#refreshMembers();
      await this.#hibernateIdle();
    } catch (error) {
      this.#options.report?.(error, 'cluster tick');
    }
  }

  /** This node lost its heartbeat (it was cut off too long): drop its agents and join again. */
  async #rejoin(): Promise<void> {
    const dropped = [...this.#active.values()];
    await Promise.allSettled(dropped.map((active) => this.#deactivate(active)));
    this.#membership.keeper.abandon();
    this.#membership = await withoutTenant(() => Membership.join(this.#leases, this.nodeId));
  }

  async #hibernateIdle(): Promise<void> {
    if (this.#hibernateAfterMs === 0) return;
    const before = performance.now() - this.#hibernateAfterMs;
    const idle = [...this.#active.values()].filter(
      (a) => a.lastUsed < before && a.inFlight === 0 && !inTenant(a.tenant, () => this.#host.busy(a.id)),
    );
    await eachLimited(idle, 64, (active) => this.#deactivate(active));
  }

  /** Agents that placement now puts on another (new) node move there while idle. */
  async #rebalance(): Promise<void> {
    const moving = [...this.#active.values()].filter(
      (a) =>
        a.inFlight === 0 &&
        placeAgent(keyOf(a.tenant, a.id), this.#members) !== this.nodeId &&
        !inTenant(a.tenant, () => this.#host.busy(a.id)),
    );
    await eachLimited(moving, 64, (active) => this.#deactivate(active)).catch((error) =>
      this.#options.report?.(error, 'rebalance'),
    );
  }

  /** Nodes left: the agents with their unfinished runs that placement gives this node are activated here, which resumes the runs. */
  async #adoptRuns(gone: string[]): Promise<void> {
    const source = this.#options.unfinishedRuns;
    if (source === undefined) return;
    for (const node of gone) {
      try {
        for await (const run of source(node)) {
          if (placeAgent(keyOf(run.tenant, run.agentId), this.#members) !== this.nodeId) continue;
          await inTenant(run.tenant, () => this.#call(run.agentId, { op: 'activate' }, {}, 0)).catch(
            (error) => this.#options.report?.(error, 'take over runs'),
          );
        }
      } catch (error) {
        this.#options.report?.(error, 'take over runs');
      }
    }
  }

  /** Stops heartbeating and serving without handing anything over: what a crash looks like to the other nodes (for tests). */
  async abandon(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#timer);
      this.#membership.keeper.abandon();
      this.#active.clear();
      await this.#tenantNotices?.close();
      await this.#server.close();
      await this.#client.close();
    })();
    await this.#closed;
  }

  /**
   * Leaves the cluster: stops the timer, drains and hands over every active agent (each
   * record gets its state and loses its owner), then gives up the heartbeat and stops serving.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#leaving = true;
      clearInterval(this.#timer);
      await this.#ticking;
      await eachLimited([...this.#active.values()], 64, (active) =>
        this.#deactivate(active).catch((error) => this.#options.report?.(error, 'hand over')),
      );
      await this.#membership.leave();
      await this.#tenantNotices?.close();
      await this.#server.close();
      await this.#client.close();
    })();
    return this.#closed;
  }
}

function retryable(error: unknown): boolean {
  if (error instanceof CallRefusedError) return true;
  return AgentfleetError.isInstance(error) && error.code === 'NO_RESPONDERS';
}

function inTenant<T>(tenant: string | undefined, fn: () => T): T {
  return tenant === undefined ? withoutTenant(fn) : withTenant(tenant, fn);
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

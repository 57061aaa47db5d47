import { EventEmitter } from 'node:events';
import { currentTenant, type TenantContext, tenantContext, withTenant } from '../context/index.ts';
import { AbortedError, InvalidOptionsError, parseOptions } from '../errors/index.ts';
import { WorkerPool } from '../pool/index.ts';
import { Agent } from './agent.ts';
import {
  type AgentDefinition,
  isAgentDefinition,
  NAME_PATTERN,
  resolveAgentConfig,
} from './agent-definition.ts';
import type { AgentHost, AgentIdentity } from './agent-host.ts';
import type { AgentInfo, SendOptions } from './agent-info.ts';
import {
  AgentExistsError,
  AgentNotFoundError,
  DefinitionExistsError,
  DefinitionNotFoundError,
  InvalidInputError,
  RuntimeClosedError,
} from './errors.ts';
import { type AgentState, isFinal, type TransitionEvent } from './lifecycle.ts';
import { type RuntimeOptions, runtimeOptionsSchema } from './runtime-options.ts';
import { emptyStateCounts, type RuntimeStats } from './runtime-stats.ts';
import { type StopOptions, type StopResult, stopOptionsError } from './stop-result.ts';
import { type TenantAdmission, TenantLedger, type TenantUsage } from './tenant-ledger.ts';

/** An error with no caller to reject: a crash cleanup that threw, a `fail()` after the end. */
export interface AgentErrorEvent {
  agentId: string;
  definition: string;
  error: unknown;
}

/** Events published on `runtime.events`. */
export interface RuntimeEvents {
  transition: [TransitionEvent];
  agentError: [AgentErrorEvent];
}

/** Options for `runtime.create()` and `runtime.spawn()`. */
export interface CreateAgentOptions {
  /** The agent's id. Default: `<definition>-<sequence>`. Letters, digits, `.`, `_`, `-`; at most 128. */
  id?: string;
  /** Per-agent config, validated by the definition's `config` schema. */
  config?: unknown;
  /**
   * The owning tenant. Default: the current tenant (`withTenant`), if any. Inside a tenant
   * context only that tenant may be named.
   */
  tenant?: string;
}

/** Filters for `runtime.list()`. */
export interface ListAgentsOptions {
  state?: AgentState;
  definition?: string;
  /** At most this many. Default 100. */
  limit?: number;
  /** Skip this many matches first. Default 0. */
  offset?: number;
  /** Outside any tenant context: list every tenant's agents, not only those without a tenant. */
  allTenants?: boolean;
}

/** How `runtime.close()` ended. */
export interface CloseResult {
  /** Agents stopped by the close. */
  stopped: number;
  /** Of those, how many hit their deadline and were forced. */
  forced: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds definitions of every type; their parameters are contravariant.
type AnyDefinition = AgentDefinition<any, any, any, any>;

/**
 * Owns agent definitions, agents and the pool their steps run on. Every agent state change
 * is counted and published on `events`. `close()` stops every agent and leaves no timer,
 * listener or pending promise behind.
 */
export class Runtime implements AgentHost {
  /** Lifecycle transitions and background errors. Listeners are removed by `close()`. */
  readonly events = new EventEmitter<RuntimeEvents>();
  readonly pool: WorkerPool;
  readonly stopTimeoutMs: number;
  readonly mailboxCapacity: number;
  /** Largest JSON config, in bytes, for agents whose definition has no config schema. */
  readonly maxConfigBytes: number;
  readonly #ownsPool: boolean;
  readonly #definitions = new Map<string, AnyDefinition>();
  /** Tenant id → that tenant's own definitions by name; they shadow the shared ones for that tenant. */
  readonly #tenantDefinitions = new Map<string, Map<string, AnyDefinition>>();
  /** Keyed by `id` for agents without a tenant, `tenant/id` for a tenant's (ids cannot hold `/`). */
  readonly #agents = new Map<string, Agent>();
  readonly #tenants = new TenantLedger();
  readonly #admission: TenantAdmission | undefined;
  readonly #current = emptyStateCounts();
  readonly #entered = emptyStateCounts();
  readonly #background = new Set<Promise<unknown>>();
  #forcedStops = 0;
  #created = 0;
  #sequence = 0;
  #closing: Promise<CloseResult> | undefined = undefined;

  constructor(options: RuntimeOptions = {}) {
    const parsed = parseOptions('runtime', runtimeOptionsSchema, {
      stopTimeoutMs: options.stopTimeoutMs,
      mailboxCapacity: options.mailboxCapacity,
      maxConfigBytes: options.maxConfigBytes,
    });
    this.maxConfigBytes = parsed.maxConfigBytes;
    this.stopTimeoutMs = parsed.stopTimeoutMs;
    this.mailboxCapacity = parsed.mailboxCapacity;
    this.#admission = options.admission;
    this.#ownsPool = !(options.pool instanceof WorkerPool);
    this.pool = options.pool instanceof WorkerPool ? options.pool : new WorkerPool(options.pool);
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Registers a definition so agents can be created from it by name (the HTTP API does).
   * Registering the same definition twice is a no-op.
   * @throws DefinitionExistsError when another definition has the name.
   */
  register(definition: AnyDefinition): this {
    if (!isAgentDefinition(definition)) {
      throw new InvalidOptionsError('register() takes a definition returned by defineAgent().');
    }
    const existing = this.#definitions.get(definition.name);
    if (existing !== undefined && existing !== definition) throw new DefinitionExistsError(definition.name);
    this.#definitions.set(definition.name, definition);
    return this;
  }

  /**
   * Registers a definition in place of the one of its name (a new version's router, say):
   * agents created from now on use it; agents already created keep theirs.
   */
  replace(definition: AnyDefinition): this {
    if (!isAgentDefinition(definition)) {
      throw new InvalidOptionsError('replace() takes a definition returned by defineAgent().');
    }
    this.#definitions.set(definition.name, definition);
    return this;
  }

  /**
   * Registers (or replaces) a definition that only `tenantId` sees: creating an agent by this
   * name in that tenant uses it before a shared definition of the same name.
   */
  registerTenantDefinition(tenantId: string, definition: AnyDefinition): this {
    if (!isAgentDefinition(definition)) {
      throw new InvalidOptionsError(
        'registerTenantDefinition() takes a definition returned by defineAgent().',
      );
    }
    const own = this.#tenantDefinitions.get(tenantId) ?? new Map<string, AnyDefinition>();
    own.set(definition.name, definition);
    this.#tenantDefinitions.set(tenantId, own);
    return this;
  }

  /** Removes a tenant's own definition; agents already created from it keep running. Returns whether it existed. */
  unregisterTenantDefinition(tenantId: string, name: string): boolean {
    const own = this.#tenantDefinitions.get(tenantId);
    const removed = own?.delete(name) ?? false;
    if (own?.size === 0) this.#tenantDefinitions.delete(tenantId);
    return removed;
  }

  /** The registered definitions. */
  definitions(): AnyDefinition[] {
    return [...this.#definitions.values()];
  }

  /**
   * Creates a pending agent from a definition (registering it if needed) or a registered name.
   * @throws DefinitionNotFoundError, AgentExistsError, InvalidInputError (bad config or id), RuntimeClosedError.
   */
  create<I, O, C, M>(
    definition: AgentDefinition<I, O, C, M> | string,
    options: CreateAgentOptions = {},
  ): Agent<I, O, C, M> {
    if (this.#closing !== undefined) throw new RuntimeClosedError();
    const def = this.#resolve(definition) as AgentDefinition<I, O, C, M>;
    const id = this.#checkId(def.name, options.id);
    const tenant = resolveTenant(options.tenant);
    const key = tenant === undefined ? id : `${tenant.id}/${id}`;
    if (this.#agents.has(key)) throw new AgentExistsError(id);
    if (tenant !== undefined && this.#admission !== undefined) {
      const refusal = this.#admission.admitAgent(tenant.id, this.#tenants.usage(tenant.id).agents);
      if (refusal !== undefined) throw refusal;
    }
    const resolved = resolveAgentConfig(def, options.config, this.maxConfigBytes);
    if (!resolved.ok) throw new InvalidInputError('config', def.name, resolved.problems);
    const config = resolved.config;
    const agent = new Agent<I, O, C, M>(this, def, id, config, tenant);
    this.#agents.set(key, agent as Agent);
    if (tenant !== undefined) this.#tenants.agentAdded(tenant.id);
    this.#created++;
    this.#current.pending++;
    this.#entered.pending++;
    return agent;
  }

  /**
   * Checks what `create` would be given, in the current tenant, without creating anything:
   * the definition's name, the id to use (a new one if none) and the config as resolved.
   * @throws DefinitionNotFoundError, InvalidInputError (bad config or id).
   */
  prepare(
    definition: string,
    options: { id?: string; config?: unknown } = {},
  ): {
    definition: string;
    id: string;
    config: unknown;
  } {
    const def = this.#resolve(definition);
    const id = this.#checkId(def.name, options.id);
    const resolved = resolveAgentConfig(def, options.config, this.maxConfigBytes);
    if (!resolved.ok) throw new InvalidInputError('config', def.name, resolved.problems);
    return { definition: def.name, id, config: resolved.config };
  }

  /** Whether a definition of this name is registered for the current tenant (its own, or the node's). */
  hasDefinition(name: string): boolean {
    const tenant = currentTenant();
    return (
      (tenant !== undefined && this.#tenantDefinitions.get(tenant.id)?.has(name) === true) ||
      this.#definitions.has(name)
    );
  }

  #checkId(definition: string, given: string | undefined): string {
    const id = given ?? `${definition}-${(++this.#sequence).toString(36)}`;
    if (given !== undefined && (typeof id !== 'string' || !NAME_PATTERN.test(id))) {
      throw new InvalidInputError('agent id', definition, [
        `id must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit; got ${JSON.stringify(id)}`,
      ]);
    }
    return id;
  }

  /** Creates an agent and starts it. Rejects like `create()` and `agent.start()`. */
  async spawn<I, O, C, M>(
    definition: AgentDefinition<I, O, C, M> | string,
    options: CreateAgentOptions = {},
  ): Promise<Agent<I, O, C, M>> {
    const agent = this.create(definition, options);
    await agent.start();
    return agent;
  }

  /**
   * The current tenant's agent with this id (outside any tenant: an agent without one), or
   * undefined. Another tenant's agent is never returned.
   */
  get(id: string): Agent | undefined {
    const tenant = currentTenant();
    if (tenant !== undefined) return this.#agents.get(`${tenant.id}/${id}`);
    // Agent ids have no "/": outside a tenant, "acme/x" is no agent (it is acme's registry key).
    return id.includes('/') ? undefined : this.#agents.get(id);
  }

  /** Like `get`, but throws. @throws AgentNotFoundError, also for another tenant's agent. */
  agent(id: string): Agent {
    const agent = this.get(id);
    if (agent === undefined) throw new AgentNotFoundError(id);
    return agent;
  }

  /**
   * Sends a message to the current tenant's agent by id; rejects with `AGENT_NOT_FOUND` for
   * an unknown id (or another tenant's), else like `agent.send()`.
   */
  send<O = unknown>(id: string, input: unknown, options?: SendOptions): Promise<O> {
    const agent = this.get(id);
    if (agent === undefined) return Promise.reject(new AgentNotFoundError(id));
    return agent.send(input, options) as Promise<O>;
  }

  /** Snapshots of agents, filtered and paged, in creation order. */
  list(options: ListAgentsOptions = {}): AgentInfo[] {
    const limit = options.limit ?? 100;
    let skip = options.offset ?? 0;
    const out: AgentInfo[] = [];
    const tenant = currentTenant();
    const every = tenant === undefined && options.allTenants === true;
    for (const agent of this.#agents.values()) {
      if (out.length >= limit) break;
      if (!every && agent.tenantContext?.id !== tenant?.id) continue;
      if (options.state !== undefined && agent.state !== options.state) continue;
      if (options.definition !== undefined && agent.definition !== options.definition) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(agent.info());
    }
    return out;
  }

  /** Number of agents in the registry, every tenant's included. */
  get size(): number {
    return this.#agents.size;
  }

  /** A tenant's agents and messages in flight. */
  tenantUsage(tenant: string): TenantUsage {
    return this.#tenants.usage(tenant);
  }

  /**
   * Stops the agent if it is not final, then forgets it. Unknown ids resolve to undefined.
   * Returns the stop result.
   */
  async remove(id: string, options?: StopOptions): Promise<StopResult | undefined> {
    const agent = this.get(id);
    if (agent === undefined) return undefined;
    const key = agent.tenantContext === undefined ? id : `${agent.tenantContext.id}/${id}`;
    const result = await agent.stop(options);
    if (this.#agents.get(key) === agent && isFinal(agent.state)) {
      this.#agents.delete(key);
      this.#current[agent.state]--;
      if (agent.tenantContext !== undefined) this.#tenants.agentRemoved(agent.tenantContext.id);
    }
    return result;
  }

  /**
   * Removes every agent of `tenantId` (stopping those not final, each within its stop deadline),
   * including ones created meanwhile, then lets each definition's cognition forget the tenant
   * (an `llm()` cognition drops its conversations). What tenant deletion (`TenantDeletion`)
   * calls; idempotent. @throws AbortedError when `signal` fires between rounds.
   */
  async purgeTenant(tenantId: string, options: { signal?: AbortSignal } = {}): Promise<{ agents: number }> {
    let agents = 0;
    for (;;) {
      if (options.signal?.aborted) throw new AbortedError(`Purging tenant "${tenantId}" was aborted.`);
      const batch: Agent[] = [];
      for (const agent of this.#agents.values()) if (agent.tenant === tenantId) batch.push(agent);
      if (batch.length === 0) break;
      const removed = await withTenant(tenantId, () => Promise.all(batch.map((a) => this.remove(a.agentId))));
      agents += removed.length;
    }
    for (const definition of this.#definitions.values()) await definition.purgeTenant?.(tenantId);
    for (const definition of this.#tenantDefinitions.get(tenantId)?.values() ?? [])
      await definition.purgeTenant?.(tenantId);
    this.#tenantDefinitions.delete(tenantId);
    return { agents };
  }

  /** Counts by state, transitions, forced stops and pool figures. */
  stats(): RuntimeStats {
    return {
      agents: { ...this.#current },
      transitions: { ...this.#entered },
      forcedStops: this.#forcedStops,
      created: this.#created,
      pool: this.pool.stats(),
    };
  }

  /**
   * Stops every agent (each with its own deadline, or `timeoutMs` for all), waits for
   * crash cleanups, closes the pool it owns and removes every event listener. Idempotent.
   * Rejects with `INVALID_OPTIONS` for bad options, and then closes nothing.
   */
  close(options?: StopOptions): Promise<CloseResult> {
    if (this.#closing !== undefined) return this.#closing;
    const invalid = options === undefined ? undefined : stopOptionsError(options);
    if (invalid !== undefined) return Promise.reject(invalid);
    this.#closing = this.#close(options);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal */
  recordTransition(
    agent: AgentIdentity,
    from: AgentState,
    to: AgentState,
    forced: boolean,
    error: unknown,
  ): void {
    this.#current[from]--;
    this.#current[to]++;
    this.#entered[to]++;
    if (forced) this.#forcedStops++;
    if (this.events.listenerCount('transition') > 0) {
      const event: TransitionEvent = {
        agentId: agent.agentId,
        definition: agent.definition,
        from,
        to,
        at: Date.now(),
      };
      if (forced) event.forced = true;
      if (error !== undefined) event.error = error;
      this.events.emit('transition', event);
    }
  }

  /** @internal */
  reportError(agent: AgentIdentity, error: unknown): void {
    if (this.events.listenerCount('agentError') > 0) {
      this.events.emit('agentError', { agentId: agent.agentId, definition: agent.definition, error });
    }
  }

  /** @internal */
  admitMessage(agent: { readonly tenant: string | undefined }): Error | undefined {
    const tenant = agent.tenant;
    if (tenant === undefined || this.#admission === undefined) return undefined;
    return this.#admission.admitMessage(tenant, this.#tenants.usage(tenant).inFlight);
  }

  /** @internal */
  trackMessage(agent: { readonly tenant: string | undefined }, settled: Promise<unknown>): void {
    const tenant = agent.tenant;
    if (tenant === undefined) return;
    this.#tenants.messageStarted(tenant);
    const end = () => this.#tenants.messageEnded(tenant);
    settled.then(end, end);
  }

  /** @internal */
  track(work: Promise<unknown>): void {
    this.#background.add(work);
    work.then(
      () => this.#background.delete(work),
      () => this.#background.delete(work),
    );
  }

  async #close(options: StopOptions | undefined): Promise<CloseResult> {
    const stops: Promise<StopResult>[] = [];
    for (const agent of this.#agents.values()) {
      if (!isFinal(agent.state)) stops.push(agent.stop(options));
    }
    const results = await Promise.all(stops);
    while (this.#background.size > 0) await Promise.all(this.#background);
    if (this.#ownsPool) {
      // Steps of force-stopped agents may never end; do not wait for them.
      const abandon = new AbortController();
      abandon.abort();
      await this.pool.close({ drain: false, signal: abandon.signal });
    }
    this.events.removeAllListeners();
    let forced = 0;
    for (const result of results) if (result.forced) forced++;
    return { stopped: results.length, forced };
  }

  #resolve(definition: AnyDefinition | string): AnyDefinition {
    if (typeof definition === 'string') {
      const tenant = currentTenant();
      const own = tenant === undefined ? undefined : this.#tenantDefinitions.get(tenant.id)?.get(definition);
      if (own !== undefined) return own;
      const found = this.#definitions.get(definition);
      if (found === undefined) throw new DefinitionNotFoundError(definition, [...this.#definitions.keys()]);
      return found;
    }
    this.register(definition);
    return definition;
  }
}

/** Creates a runtime with in-memory defaults. See `RuntimeOptions`. */
export function createRuntime(options?: RuntimeOptions): Runtime {
  return new Runtime(options);
}

/** The tenant a new agent belongs to: the named one (only if it is the current one, when there is one) or the current. */
function resolveTenant(named: string | undefined): TenantContext | undefined {
  const current = currentTenant();
  if (named === undefined) return current;
  const context = tenantContext(named);
  if (current !== undefined && current.id !== context.id) {
    throw new InvalidOptionsError(
      `Cannot create an agent for tenant "${named}" while running as tenant "${current.id}".`,
    );
  }
  return context;
}

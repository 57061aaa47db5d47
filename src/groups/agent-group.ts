import { currentTenant, runInTenant, type TenantContext, withoutTenant } from '../context/index.ts';
import type { Agent, AgentInfo, Runtime, SendOptions } from '../core/index.ts';
import { AbortedError, parseOptions } from '../errors/index.ts';
import {
  type AgentGroupOptions,
  type AnyDefinition,
  agentGroupOptionsSchema,
} from './agent-group-options.ts';
import {
  GroupClosedError,
  GroupSizeInvalidError,
  GroupTenantMismatchError,
  GroupUnavailableError,
} from './errors.ts';

/** One replica of a group, for APIs and consoles. */
export interface GroupReplicaInfo extends AgentInfo {
  /** Its number in the group: the agent id is `<group>.r<index>`. */
  index: number;
  /** False while it drains after a scale-down: it takes no new messages. */
  inRotation: boolean;
}

/**
 * An agent group: `size` identical agents (replicas) of one definition behind one address.
 * `send` gives each message to the replica with the fewest messages in flight and queued
 * (ties in turn); `scale` adds replicas (started before they take messages) or retires the
 * highest-numbered ones (taken out of rotation first, then stopped with drain, so every
 * message a replica accepted is handled once, or rejected with `AGENT_STOPPED` if its drain
 * deadline passes). The group and its replicas belong to the tenant current when it was
 * opened; every send runs as that tenant. Scale calls and `close` run one at a time.
 */
export class AgentGroup {
  /** The group's address; replica `i` is the agent `<id>.r<i>`. */
  readonly id: string;
  /** Most replicas `scale` accepts. */
  readonly maxReplicas: number;
  readonly #runtime: Runtime;
  readonly #definition: AnyDefinition | string;
  readonly #config: unknown;
  readonly #drainTimeoutMs: number | undefined;
  readonly #tenant: TenantContext | undefined;
  /** Replicas taking messages, replica `i` at position `i`. */
  readonly #rotation: Agent[] = [];
  /** Replicas out of rotation, draining, by index. */
  readonly #draining = new Map<Agent, number>();
  #cursor = 0;
  /** The last scale or close in line: the next one starts after it settles. */
  #tail: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined = undefined;

  private constructor(
    options: ReturnType<typeof agentGroupOptionsSchema.parse>,
    tenant: TenantContext | undefined,
  ) {
    this.id = options.id;
    this.maxReplicas = options.maxReplicas;
    this.#runtime = options.runtime;
    this.#definition = options.definition;
    this.#config = options.config;
    this.#drainTimeoutMs = options.drainTimeoutMs;
    this.#tenant = tenant;
  }

  /**
   * Opens a group in the current tenant (if any) and starts its replicas; resolves once all
   * are running. If any fails to be created or started, those created are removed again.
   * @throws InvalidOptionsError (`INVALID_OPTIONS`) for bad options, GroupSizeInvalidError when
   * `replicas > maxReplicas`, AbortedError when `signal` fires, and what `runtime.create()` or
   * `agent.start()` throws (`AGENT_EXISTS`, `DEFINITION_NOT_FOUND`, `AGENT_START_FAILED`, …).
   */
  static async open(options: AgentGroupOptions, signal?: AbortSignal): Promise<AgentGroup> {
    const parsed = parseOptions('agent group', agentGroupOptionsSchema, options);
    if (parsed.replicas > parsed.maxReplicas) {
      throw new GroupSizeInvalidError(parsed.id, parsed.replicas, parsed.maxReplicas);
    }
    const group = new AgentGroup(parsed, currentTenant());
    await group.#grow(parsed.replicas, signal);
    return group;
  }

  /** The owning tenant's id, if any. */
  get tenant(): string | undefined {
    return this.#tenant?.id;
  }

  /** Replicas in rotation (taking messages). */
  get size(): number {
    return this.#rotation.length;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Sends a message to the least-loaded running replica and resolves like `agent.send()`.
   * Rejects with `GROUP_CLOSED`, `GROUP_TENANT_MISMATCH` (called as another tenant),
   * `GROUP_UNAVAILABLE` (no replica running), else like `agent.send()` (`MAILBOX_FULL`, …).
   */
  send<O = unknown>(input: unknown, options?: SendOptions): Promise<O> {
    if (this.#closing !== undefined) return Promise.reject(new GroupClosedError(this.id));
    const refusal = this.#callerRefusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const replica = this.#pick();
    if (replica === undefined)
      return Promise.reject(new GroupUnavailableError(this.id, this.#rotation.length));
    const tenant = this.#tenant;
    const sent =
      tenant === undefined
        ? replica.send(input, options)
        : runInTenant(tenant, () => replica.send(input, options));
    return sent as Promise<O>;
  }

  /**
   * Changes the number of replicas to `n`, after any scale already in progress. Growing
   * creates and starts the new replicas, then puts them in rotation (all or none: if one
   * fails, the new ones are removed and the error thrown). Shrinking takes the highest-numbered
   * replicas out of rotation at once, then stops them with drain and resolves when they are
   * gone. The same size is a no-op. `signal` abandons a scale still waiting its turn or a
   * growth still starting; a drain already begun runs to its deadline.
   * @throws GroupSizeInvalidError unless `n` is an integer from 1 to `maxReplicas`;
   * GroupClosedError, GroupTenantMismatchError, AbortedError, or what creating a replica throws.
   */
  scale(n: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isInteger(n) || n < 1 || n > this.maxReplicas) {
      return Promise.reject(new GroupSizeInvalidError(this.id, n, this.maxReplicas));
    }
    if (this.#closing !== undefined) return Promise.reject(new GroupClosedError(this.id));
    const refusal = this.#callerRefusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    return this.#inLine(async () => {
      if (signal?.aborted) throw aborted(this.id, signal);
      if (this.#closing !== undefined) throw new GroupClosedError(this.id);
      const size = this.#rotation.length;
      if (n > size) await this.#grow(n - size, signal);
      else if (n < size) await this.#shrink(size - n);
    });
  }

  /** Snapshots of the replicas: those in rotation by index, then those draining. */
  replicas(): GroupReplicaInfo[] {
    const out: GroupReplicaInfo[] = this.#rotation.map((agent, index) => ({
      ...agent.info(),
      index,
      inRotation: true,
    }));
    for (const [agent, index] of this.#draining) out.push({ ...agent.info(), index, inRotation: false });
    return out;
  }

  /**
   * Refuses new messages and scales at once, then (after any scale in progress) stops every
   * replica with drain and removes it from the runtime. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#inLine(() => this.#shrink(this.#rotation.length)).then(() =>
      Promise.all([...this.#draining.keys()].map((agent) => this.#retire(agent))).then(() => undefined),
    );
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The replica to send to: the fewest in flight + queued among running ones, ties from the cursor on. */
  #pick(): Agent | undefined {
    const rotation = this.#rotation;
    const n = rotation.length;
    let best: Agent | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    let bestAt = 0;
    for (let k = 0; k < n; k++) {
      const at = (this.#cursor + k) % n;
      const agent = rotation[at]!;
      if (agent.state !== 'running') continue;
      const info = agent.info();
      const load = info.inFlight + info.queued;
      if (load < bestLoad) {
        best = agent;
        bestLoad = load;
        bestAt = at;
        if (load === 0) break;
      }
    }
    if (best !== undefined) this.#cursor = (bestAt + 1) % n;
    return best;
  }

  /** Creates and starts `count` replicas after the last one, then puts them in rotation; all or none. */
  async #grow(count: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw aborted(this.id, signal);
    const first = this.#rotation.length;
    const created: Agent[] = [];
    let failure: unknown;
    this.#inTenant(() => {
      try {
        for (let i = first; i < first + count; i++) {
          const agent = this.#runtime.create(this.#definition, {
            id: `${this.id}.r${i}`,
            config: this.#config,
          });
          created.push(agent as Agent);
        }
      } catch (error) {
        failure = error;
      }
    });
    if (failure === undefined) {
      const started = await Promise.allSettled(created.map((agent) => agent.start()));
      const rejected = started.find((outcome) => outcome.status === 'rejected');
      if (rejected !== undefined) failure = rejected.reason;
      else if (signal?.aborted) failure = aborted(this.id, signal);
    }
    if (failure !== undefined) {
      await Promise.all(created.map((agent) => this.#forget(agent)));
      throw failure;
    }
    this.#rotation.push(...created);
  }

  /** Takes the last `count` replicas out of rotation, then drains and removes them. */
  async #shrink(count: number): Promise<void> {
    if (count === 0) return;
    const first = this.#rotation.length - count;
    const leaving = this.#rotation.splice(first, count);
    for (let k = 0; k < leaving.length; k++) this.#draining.set(leaving[k]!, first + k);
    this.#cursor = this.#rotation.length === 0 ? 0 : this.#cursor % this.#rotation.length;
    await Promise.all(leaving.map((agent) => this.#retire(agent)));
  }

  /** Stops a replica with drain and removes it from the runtime. */
  async #retire(agent: Agent): Promise<void> {
    try {
      await this.#inTenant(() => {
        const options = { drain: true, timeoutMs: this.#drainTimeoutMs };
        return this.#runtime.get(agent.agentId) === agent
          ? this.#runtime.remove(agent.agentId, options)
          : agent.stop(options);
      });
    } finally {
      this.#draining.delete(agent);
    }
  }

  /** Removes a replica that never entered rotation. */
  async #forget(agent: Agent): Promise<void> {
    await this.#inTenant(() =>
      this.#runtime.get(agent.agentId) === agent ? this.#runtime.remove(agent.agentId) : agent.stop(),
    );
  }

  #inTenant<R>(fn: () => R): R {
    return this.#tenant === undefined ? withoutTenant(fn) : runInTenant(this.#tenant, fn);
  }

  #callerRefusal(): GroupTenantMismatchError | undefined {
    const caller = currentTenant();
    if (caller === undefined || caller.id === this.#tenant?.id) return undefined;
    return new GroupTenantMismatchError(this.id, this.#tenant?.id, caller.id);
  }

  /** Runs `step` after the scale or close before it has settled. */
  #inLine<R>(step: () => Promise<R>): Promise<R> {
    const run = this.#tail.then(step);
    this.#tail = run.then(noop, noop);
    return run;
  }
}

function noop(): void {}

function aborted(group: string, signal: AbortSignal): AbortedError {
  return new AbortedError(`Scaling agent group "${group}" was aborted.`, { cause: signal.reason });
}

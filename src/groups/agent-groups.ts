import { currentTenant } from '../context/index.ts';
import type { Runtime, SendOptions } from '../core/index.ts';
import { AgentGroup } from './agent-group.ts';
import type { AgentGroupOptions } from './agent-group-options.ts';
import { GroupClosedError, GroupExistsError, GroupNotFoundError } from './errors.ts';

/** A group in a listing. */
export interface AgentGroupSummary {
  id: string;
  tenant?: string;
  /** Replicas in rotation. */
  size: number;
}

/**
 * The agent groups of one runtime, by id per tenant (as agents are): a group is found, sent
 * to and listed only in the tenant it was opened in. `close()` closes every group.
 */
export class AgentGroups {
  readonly #runtime: Runtime;
  /** Keyed by `id` for groups without a tenant, `tenant/id` for a tenant's (ids cannot hold `/`). */
  readonly #groups = new Map<string, AgentGroup>();
  /** Keys being opened, so two concurrent opens of one id cannot both succeed. */
  readonly #opening = new Set<string>();
  #closing: Promise<void> | undefined = undefined;

  constructor(runtime: Runtime) {
    this.#runtime = runtime;
  }

  /**
   * Opens a group of the runtime in the current tenant. Rejects like `AgentGroup.open`, with
   * `GROUP_EXISTS` when this tenant has an open group of the id, `GROUP_CLOSED` after `close()`.
   */
  async open(options: Omit<AgentGroupOptions, 'runtime'>, signal?: AbortSignal): Promise<AgentGroup> {
    if (this.#closing !== undefined) throw new GroupClosedError(String(options?.id));
    const key = keyOf(String(options?.id));
    if (this.#live(key) !== undefined || this.#opening.has(key))
      throw new GroupExistsError(String(options.id));
    this.#opening.add(key);
    try {
      const group = await AgentGroup.open({ ...options, runtime: this.#runtime }, signal);
      if (this.#closing !== undefined) {
        await group.close();
        throw new GroupClosedError(group.id);
      }
      this.#groups.set(key, group);
      return group;
    } finally {
      this.#opening.delete(key);
    }
  }

  /** The current tenant's open group of this id, or undefined. */
  get(id: string): AgentGroup | undefined {
    return this.#live(keyOf(id));
  }

  /** Sends to the current tenant's group `id`. Rejects with `GROUP_NOT_FOUND`, else like `group.send()`. */
  send<O = unknown>(id: string, input: unknown, options?: SendOptions): Promise<O> {
    const group = this.get(id);
    if (group === undefined) return Promise.reject(new GroupNotFoundError(id));
    return group.send<O>(input, options);
  }

  /** The current tenant's open groups. */
  list(): AgentGroupSummary[] {
    const tenant = currentTenant()?.id;
    const out: AgentGroupSummary[] = [];
    for (const group of this.#groups.values()) {
      if (group.closed || group.tenant !== tenant) continue;
      const summary: AgentGroupSummary = { id: group.id, size: group.size };
      if (group.tenant !== undefined) summary.tenant = group.tenant;
      out.push(summary);
    }
    return out;
  }

  /** Closes the current tenant's group `id` (draining its replicas) and forgets it. Returns whether it was open. */
  async remove(id: string): Promise<boolean> {
    const key = keyOf(id);
    const group = this.#live(key);
    if (group === undefined) return false;
    this.#groups.delete(key);
    await group.close();
    return true;
  }

  /** Closes every group of the tenant (its deletion): their replicas drain and are removed. */
  async purgeTenant(tenant: string): Promise<{ groups: number }> {
    const prefix = `${tenant}/`;
    const groups = [...this.#groups].filter(([key]) => key.startsWith(prefix));
    for (const [key] of groups) this.#groups.delete(key);
    await Promise.all(groups.map(([, group]) => group.close()));
    return { groups: groups.length };
  }

  /** Closes every group, every tenant's; opens after it are refused. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([...this.#groups.values()].map((group) => group.close())).then(() => {
      this.#groups.clear();
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The group under `key` unless closed (a group closed directly is forgotten here). */
  #live(key: string): AgentGroup | undefined {
    const group = this.#groups.get(key);
    if (group?.closed) {
      this.#groups.delete(key);
      return undefined;
    }
    return group;
  }
}

function keyOf(id: string): string {
  const tenant = currentTenant();
  return tenant === undefined ? id : `${tenant.id}/${id}`;
}

/**
 * Decides whether a tenant may have one more agent or one more message in flight. The runtime
 * keeps the counts; the admission only says yes or no, so quotas can live anywhere (a tenant
 * registry, config, code). `TenantQuotaGate` in `tenancy` is the stock implementation.
 */
export interface TenantAdmission {
  /** An error refusing a new agent for `tenant`, which owns `agents` now; undefined admits it. */
  admitAgent(tenant: string, agents: number): Error | undefined;
  /** An error refusing a new message for `tenant`, which has `inFlight` accepted and unfinished; undefined admits it. */
  admitMessage(tenant: string, inFlight: number): Error | undefined;
}

/** Per-tenant figures the runtime keeps. */
export interface TenantUsage {
  /** Agents the tenant owns in the registry (any state, until removed). */
  agents: number;
  /** Messages accepted for its agents and not finished (queued or running). */
  inFlight: number;
}

/** The runtime's per-tenant counters. Entries disappear when they drop to zero. */
export class TenantLedger {
  readonly #usage = new Map<string, TenantUsage>();

  usage(tenant: string): TenantUsage {
    const u = this.#usage.get(tenant);
    return u === undefined ? { agents: 0, inFlight: 0 } : { ...u };
  }

  #entry(tenant: string): TenantUsage {
    let u = this.#usage.get(tenant);
    if (u === undefined) {
      u = { agents: 0, inFlight: 0 };
      this.#usage.set(tenant, u);
    }
    return u;
  }

  #prune(tenant: string, u: TenantUsage): void {
    if (u.agents === 0 && u.inFlight === 0) this.#usage.delete(tenant);
  }

  agentAdded(tenant: string): void {
    this.#entry(tenant).agents++;
  }

  agentRemoved(tenant: string): void {
    const u = this.#entry(tenant);
    u.agents--;
    this.#prune(tenant, u);
  }

  messageStarted(tenant: string): void {
    this.#entry(tenant).inFlight++;
  }

  messageEnded(tenant: string): void {
    const u = this.#entry(tenant);
    u.inFlight--;
    this.#prune(tenant, u);
  }

  /** Tenants with agents or messages now. */
  get size(): number {
    return this.#usage.size;
  }
}

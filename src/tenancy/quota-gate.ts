import type { RedisClientType } from 'redis';
import type { TenantAdmission } from '../core/index.ts';
import { InvalidOptionsError } from '../errors/index.ts';
import { createRateLimiter, RateLimitedError, type RateLimiter } from '../resilience/index.ts';
import { QuotaExceededError } from './errors.ts';
import type { TenantQuotas } from './registry.ts';

interface Entry {
  quotas: TenantQuotas;
  limiter: RateLimiter | undefined;
}

const NONE: Entry = { quotas: {}, limiter: undefined };
/** Agents a tenant may own when its quotas set no `maxAgents`. */
export const DEFAULT_MAX_AGENTS = 10_000;

/**
 * Enforces tenant quotas: agents and messages in flight through the runtime (pass it as
 * `createRuntime({ admission })`), requests per period through `consumeRequest` (the HTTP
 * layer calls it). The request window is the resilience fixed window (`rate-limiter-flexible`),
 * in process or, with `redis`, shared by every server of a cluster; a lost Redis gives
 * `RATE_LIMITER_UNAVAILABLE` (503) at once, not a wait, and the window is back when Redis is.
 */
export class TenantQuotaGate implements TenantAdmission {
  readonly #entries = new Map<string, Entry>();
  readonly #redis: RedisClientType | undefined;
  readonly #defaultMaxAgents: number;

  /**
   * With `redis`, the request window is kept on Redis, so every server of a cluster counts
   * a tenant's requests against one limit (agents and steps in flight stay per process).
   * `defaultMaxAgents` caps a tenant whose quotas set no `maxAgents` (default 10,000).
   */
  constructor(options: { redis?: RedisClientType; defaultMaxAgents?: number } = {}) {
    this.#redis = options.redis;
    const max = options.defaultMaxAgents ?? DEFAULT_MAX_AGENTS;
    if (!Number.isInteger(max) || max < 0 || max > 100_000_000)
      throw new InvalidOptionsError(`defaultMaxAgents must be an integer 0-100,000,000; got ${max}.`);
    this.#defaultMaxAgents = max;
  }

  /** Sets (or with undefined, clears) a tenant's quotas; the request window restarts when it changes. */
  setQuotas(tenant: string, quotas: TenantQuotas | undefined): void {
    if (quotas === undefined) {
      this.#entries.delete(tenant);
      return;
    }
    const old = this.#entries.get(tenant);
    const sameWindow =
      old !== undefined &&
      old.quotas.requestsPerPeriod === quotas.requestsPerPeriod &&
      (old.quotas.periodSeconds ?? 1) === (quotas.periodSeconds ?? 1);
    const limiter = sameWindow
      ? old.limiter
      : quotas.requestsPerPeriod === undefined
        ? undefined
        : this.#limiter(quotas.requestsPerPeriod, quotas.periodSeconds ?? 1);
    this.#entries.set(tenant, { quotas, limiter });
  }

  #limiter(points: number, duration: number): RateLimiter {
    return createRateLimiter(
      { type: 'fixed-window', limitForPeriod: points, limitRefreshPeriodMs: duration * 1000 },
      { redis: this.#redis, keyPrefix: `agentfleet:quota:${points}:${duration}` },
    );
  }

  /** Forgets the tenant's quotas and clears its request window (tenant deletion). */
  async purgeTenant(tenant: string): Promise<void> {
    const limiter = this.#entries.get(tenant)?.limiter;
    this.#entries.delete(tenant);
    await limiter?.delete(tenant);
  }

  /** The quotas in force for a tenant (empty: unlimited). */
  quotasOf(tenant: string): TenantQuotas {
    return (this.#entries.get(tenant) ?? NONE).quotas;
  }

  admitAgent(tenant: string, agents: number): Error | undefined {
    const max = (this.#entries.get(tenant) ?? NONE).quotas.maxAgents ?? this.#defaultMaxAgents;
    return agents >= max ? new QuotaExceededError(tenant, 'maxAgents', max, 1) : undefined;
  }

  admitMessage(tenant: string, inFlight: number): Error | undefined {
    const max = (this.#entries.get(tenant) ?? NONE).quotas.maxConcurrentSteps;
    return max !== undefined && inFlight >= max
      ? new QuotaExceededError(tenant, 'maxConcurrentSteps', max, 1)
      : undefined;
  }

  /**
   * Counts one request against the tenant's window. Resolves at once without a window;
   * otherwise resolves, or rejects with `QuotaExceededError` whose `retryAfterSeconds` is
   * the time until the window has room, or with `RateLimiterUnavailableError`
   * (`RATE_LIMITER_UNAVAILABLE`) when the window is on Redis and Redis is lost.
   */
  consumeRequest(tenant: string): Promise<void> | undefined {
    const entry = this.#entries.get(tenant);
    const limiter = entry?.limiter;
    if (limiter === undefined) return undefined;
    return limiter.consume(tenant)?.catch((refusal: unknown) => {
      if (!(refusal instanceof RateLimitedError)) throw refusal;
      throw new QuotaExceededError(
        tenant,
        'requestsPerPeriod',
        entry!.quotas.requestsPerPeriod!,
        Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)),
      );
    });
  }
}

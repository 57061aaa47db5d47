import { AsyncLocalStorage } from 'node:async_hooks';
import { AgentfleetError } from '../errors/index.ts';
import type { ContextErrorCode } from './error-codes.ts';

/** Who the current work is for. Set at the edge (HTTP auth, bus delivery, agent step). */
export interface TenantContext {
  /** The tenant id: 1–64 letters, digits, `_` or `-` (usable as a topic token and a key prefix). */
  readonly id: string;
}

/** Tenant ids: 1–64 letters, digits, `_` or `-`, starting with a letter or digit. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Work that must run for a tenant ran outside any tenant context. */
export class TenantRequiredError extends AgentfleetError<ContextErrorCode> {
  constructor(what?: string) {
    super(
      'TENANT_REQUIRED',
      `${what ?? 'This operation'} needs a tenant: run it inside withTenant(id, fn) or an authenticated request.`,
    );
  }
}

/** A tenant id that is not 1–64 letters, digits, `_` or `-`. */
export class InvalidTenantIdError extends AgentfleetError<ContextErrorCode> {
  constructor(id: unknown) {
    super(
      'INVALID_TENANT_ID',
      `Tenant id must be 1-64 letters, digits, "_" or "-", starting with a letter or digit; got ${JSON.stringify(id)}.`,
    );
  }
}

const storage = new AsyncLocalStorage<TenantContext>();
// Contexts are interned so a hot path (an agent step, a bus delivery) never allocates one and
// every holder of a tenant's context holds the same object. The first 100,000 ids are kept
// strongly (the fast path); past that, contexts are held weakly and forgotten once nothing
// references them, so interning never changes behaviour and never grows without bound.
const interned = new Map<string, TenantContext>();
const STRONG_LIMIT = 100_000;
const weak = new Map<string, WeakRef<TenantContext>>();
const collected = new FinalizationRegistry<string>((id) => {
  if (weak.get(id)?.deref() === undefined) weak.delete(id);
});

/**
 * The context object for a tenant id: the same object every time, for as long as anything
 * holds it. Still, compare contexts by `id`, not by identity.
 * @throws InvalidTenantIdError
 */
export function tenantContext(id: string): TenantContext {
  const known = interned.get(id);
  if (known !== undefined) return known;
  const held = weak.get(id)?.deref();
  if (held !== undefined) return held;
  if (typeof id !== 'string' || !TENANT_ID_PATTERN.test(id)) throw new InvalidTenantIdError(id);
  const context: TenantContext = Object.freeze({ id });
  if (interned.size < STRONG_LIMIT) interned.set(id, context);
  else {
    weak.set(id, new WeakRef(context));
    collected.register(context, id);
  }
  return context;
}

/**
 * Runs `fn` with `tenant` as the current tenant. Everything `fn` starts — promises, timers,
 * pool steps, bus publishes, model and tool calls — sees the same tenant.
 * @throws InvalidTenantIdError for a malformed id.
 */
export function withTenant<R>(tenant: string | TenantContext, fn: () => R): R {
  const context = typeof tenant === 'string' ? tenantContext(tenant) : tenant;
  return storage.getStore() === context ? fn() : storage.run(context, fn);
}

/** Runs `fn` outside any tenant (system work: a shared subscription, an admin task). */
export function withoutTenant<R>(fn: () => R): R {
  return storage.getStore() === undefined ? fn() : storage.exit(fn);
}

/** The current tenant, or undefined outside any tenant context. */
export function currentTenant(): TenantContext | undefined {
  return storage.getStore();
}

/** The current tenant's id, or undefined. */
export function currentTenantId(): string | undefined {
  return storage.getStore()?.id;
}

/** The current tenant. @throws TenantRequiredError outside any tenant context. */
export function requireTenant(what?: string): TenantContext {
  const context = storage.getStore();
  if (context === undefined) throw new TenantRequiredError(what);
  return context;
}

/**
 * Runs `fn(arg)` with `context` as the current tenant, without allocating a closure:
 * the hot-path form of `withTenant` for code that already holds the context object.
 */
export function runInTenant<A, R>(context: TenantContext, fn: (arg: A) => R, arg: A): R;
export function runInTenant<R>(context: TenantContext, fn: () => R): R;
export function runInTenant<A, R>(context: TenantContext, fn: (arg?: A) => R, arg?: A): R {
  return storage.getStore() === context ? fn(arg) : storage.run(context, fn, arg);
}

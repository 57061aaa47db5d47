import { withTenant } from '../context/index.ts';
import type { AgentDefinition } from '../core/index.ts';
import { AgentfleetError, InvalidOptionsError } from '../errors/index.ts';
import type { AgentSpecDocument } from './agent-spec-schema.ts';
import { type CompileAgentSpecDeps, type CompiledAgentSpec, compileAgentSpec } from './compile-agent-spec.ts';
import {
  type DefinitionChange,
  type DefinitionStore,
  type DefinitionWatch,
  definitionKey,
} from './definition-store.ts';
import type { SpecErrorCode } from './error-codes.ts';
import { SpecInvalidError, type SpecProblem } from './errors.ts';
import { parseAgentSpec } from './parse-agent-spec.ts';
import { RevisionGate } from './revision-gate.ts';

/** Where tenant definitions are registered: the runtime's per-tenant definitions. */
export interface TenantDefinitionTarget {
  registerTenantDefinition(tenantId: string, definition: AgentDefinition): unknown;
  unregisterTenantDefinition(tenantId: string, name: string): boolean;
}

/** Options of `TenantDefinitions`. */
export interface TenantDefinitionsOptions {
  target: TenantDefinitionTarget;
  /** What compiling needs (models, knowledge, messaging), as for the node's own specs. */
  deps?: Omit<CompileAgentSpecDeps, 'signal'>;
  /** Definitions one tenant may own. Default 100. */
  maxPerTenant?: number;
  /** UTF-8 bytes of one spec's text. Default 65,536. */
  maxBytes?: number;
  /**
   * Shares the definitions through this store (a cluster's): every node registers what it
   * holds, once `start()` has begun watching it. Not closed by `close()`.
   */
  store?: DefinitionStore;
  /** Told of a stored definition refused (not a definition, or not a valid spec): it is skipped. */
  onInvalid?: (error: unknown, where: { tenant?: string; name?: string }) => void;
  /** How long a node waits to catch up with the store (a write's revision, or its head), ms. Default 10,000. */
  syncTimeoutMs?: number;
}

/** A tenant already owns `maxPerTenant` definitions. */
export class DefinitionLimitError extends AgentfleetError<SpecErrorCode> {
  constructor(tenant: string, max: number) {
    super(
      'DEFINITION_LIMIT',
      `Tenant ${tenant} already owns ${max} definitions, the limit; delete one first.`,
      {
        details: { tenant, max },
      },
    );
  }
}

/** A spec text over `maxBytes`. */
export class SpecTooLargeError extends AgentfleetError<SpecErrorCode> {
  constructor(bytes: number, max: number) {
    super('SPEC_TOO_LARGE', `The spec is ${bytes} bytes; the limit is ${max}.`, { details: { bytes, max } });
  }
}

interface Owned {
  spec: AgentSpecDocument;
  compiled: CompiledAgentSpec;
}

/** A spec this node compiled for its PUT, for its watch to register when the store hands it back. */
interface Pending extends Owned {
  text: string;
  format: 'json' | 'yaml';
  taken: boolean;
}

/** What a tenant's spec may not ask for: the node's files, processes and shared settings. */
function tenantProblems(spec: AgentSpecDocument, source: string): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const refuse = (path: string, message: string) => problems.push({ source, path, message });
  if (spec.cognition.type === 'llm' && spec.cognition.systemFile !== undefined)
    refuse('cognition.systemFile', 'tenant definitions cannot read files; give system inline');
  if (spec.cognition.type === 'builtin')
    refuse('cognition.type', 'builtin cognitions are for the node’s own specs');
  if (spec.knowledge?.documents !== undefined)
    refuse(
      'knowledge.documents',
      'tenant definitions cannot read files; add documents through /v1/knowledge',
    );
  if (spec.knowledge?.tenant !== undefined)
    refuse('knowledge.tenant', 'a tenant’s agents search its own documents');
  spec.tools?.forEach((tool, i) => {
    if (tool.type === 'mcp' && tool.command !== undefined)
      refuse(`tools.${i}.command`, 'tenant definitions cannot start processes; use an MCP server url');
  });
  return problems;
}

/**
 * Definitions tenants create through the API (`PUT /v1/definitions/:name`): validated like the
 * node's specs (and refused what would reach the node's files or processes), bounded per tenant,
 * registered in the runtime for that tenant only, and deleted with the tenant (a `TenantPurger`).
 *
 * With a `store` (a cluster), the store holds them and every node registers what it holds by
 * watching it: one ordered stream of changes that each node applies in the same order, so a
 * delete or a tenant's purge reaches every node as a put does, with no second path to keep in
 * step (loading on demand would still need the deletes pushed). Every write answers once this
 * node has applied it; `sync()` catches up with the store's head (before a read, or when an
 * agent names a definition this node lacks: `ensure`), so what one node wrote, another reads.
 * A text read back is outside input: checked and compiled again, and skipped (told to
 * `onInvalid`) when bad. The per-tenant limit holds over the store: a name past it in the
 * store's order (two nodes raced for the last ones) is registered nowhere, and the PUT that
 * wrote it takes it back and fails with `DEFINITION_LIMIT`.
 */
export class TenantDefinitions {
  readonly name = 'definitions';
  readonly #byTenant = new Map<string, Map<string, Owned>>();
  readonly #target: TenantDefinitionTarget;
  readonly #deps: Omit<CompileAgentSpecDeps, 'signal'>;
  readonly #maxPerTenant: number;
  readonly #maxBytes: number;
  readonly #store: DefinitionStore | undefined;
  readonly #onInvalid: TenantDefinitionsOptions['onInvalid'];
  readonly #gate: RevisionGate;
  readonly #pending = new Map<string, Pending>();
  #watch: DefinitionWatch | undefined;

  constructor(options: TenantDefinitionsOptions) {
    this.#target = options.target;
    this.#deps = options.deps ?? {};
    this.#maxPerTenant = options.maxPerTenant ?? 100;
    this.#maxBytes = options.maxBytes ?? 65_536;
    this.#store = options.store;
    this.#onInvalid = options.onInvalid;
    const syncTimeoutMs = options.syncTimeoutMs ?? 10_000;
    for (const [key, value] of [
      ['maxPerTenant', this.#maxPerTenant],
      ['maxBytes', this.#maxBytes],
      ['syncTimeoutMs', syncTimeoutMs],
    ] as const)
      if (!Number.isInteger(value) || value < 1)
        throw new InvalidOptionsError(`TenantDefinitions: ${key} must be a positive integer, got ${value}.`);
    this.#gate = new RevisionGate(syncTimeoutMs);
  }

  /** The most UTF-8 bytes a spec may have. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * With a store: starts watching it and resolves once what it holds is registered here.
   * Without one, does nothing. @throws DefinitionStoreUnavailableError
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    const store = this.#store;
    if (store === undefined || this.#watch !== undefined) return;
    this.#watch = await store.watch({
      change: (change) => this.#apply(change),
      invalid: (error) => this.#onInvalid?.(error, {}),
    });
    await this.sync(options);
  }

  /** Resolves once every change the store held when called is registered here (at once without a store). */
  async sync(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#store === undefined) return;
    await this.#gate.reach(await this.#store.head(), options.signal);
  }

  /** Catches up with the store when the tenant's `name` is not registered here (it may have been put on another node). */
  async ensure(tenant: string, name: string): Promise<void> {
    if (this.#store !== undefined && this.#byTenant.get(tenant)?.has(name) !== true) await this.sync();
  }

  /**
   * Creates or replaces the tenant's definition `name` from a spec text (JSON or YAML); with a
   * store, writes it there and answers once this node has registered it.
   * @throws SpecInvalidError (also when the spec's name is not `name`), SpecTooLargeError,
   * DefinitionLimitError, DefinitionStoreUnavailableError
   */
  async put(
    tenant: string,
    name: string,
    text: string,
    options: { format?: 'json' | 'yaml'; signal?: AbortSignal } = {},
  ): Promise<{ spec: AgentSpecDocument; created: boolean }> {
    const spec = this.#check(name, text, options.format);
    if (this.#store !== undefined) await this.sync(options);
    const own = this.#byTenant.get(tenant) ?? new Map<string, Owned>();
    const previous = own.get(name);
    if (previous === undefined && own.size >= this.#maxPerTenant)
      throw new DefinitionLimitError(tenant, this.#maxPerTenant);
    const compiled = await compileAgentSpec(spec, { ...this.#deps, signal: options.signal });
    if (this.#store !== undefined) {
      await this.#write(tenant, name, { spec, compiled, text, format: options.format ?? 'yaml' }, options);
      return { spec, created: previous === undefined };
    }
    own.set(name, { spec, compiled });
    this.#byTenant.set(tenant, own);
    this.#target.registerTenantDefinition(tenant, compiled.definition);
    await previous?.compiled.close();
    return { spec, created: previous === undefined };
  }

  /** The tenant's definitions' specs, by name (as registered here: `sync()` first to see the store's latest). */
  list(tenant: string): AgentSpecDocument[] {
    return [...(this.#byTenant.get(tenant)?.values() ?? [])]
      .map((o) => o.spec)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The tenant's spec `name`, or undefined (another tenant's is never returned). */
  get(tenant: string, name: string): AgentSpecDocument | undefined {
    return this.#byTenant.get(tenant)?.get(name)?.spec;
  }

  /** Deletes the tenant's definition (with a store, on every node); agents already created from it keep running. */
  async delete(tenant: string, name: string): Promise<boolean> {
    if (this.#store !== undefined) {
      const deleted = await this.#store.delete(tenant, name);
      await this.sync();
      return deleted;
    }
    return this.#drop(tenant, name);
  }

  /** Deletes every definition of the tenant (tenant deletion; with a store, on every node). */
  async purgeTenant(tenant: string): Promise<{ definitions: number }> {
    if (this.#store !== undefined) {
      const definitions = await this.#store.purgeTenant(tenant);
      await this.sync();
      return { definitions };
    }
    const names = [...(this.#byTenant.get(tenant)?.keys() ?? [])];
    for (const name of names) await this.#drop(tenant, name);
    return { definitions: names.length };
  }

  /** Stops watching the store and releases every compiled definition's resources. */
  async close(): Promise<void> {
    this.#gate.close();
    await this.#watch?.close();
    const all = [...this.#byTenant.values()].flatMap((own) => [...own.values()]);
    this.#byTenant.clear();
    await Promise.allSettled(all.map((o) => o.compiled.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Checks a spec text as a tenant's definition `name`. @throws SpecTooLargeError, SpecInvalidError */
  #check(name: string, text: string, format: 'json' | 'yaml' | undefined): AgentSpecDocument {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.#maxBytes) throw new SpecTooLargeError(bytes, this.#maxBytes);
    const source = `definitions/${name}`;
    const spec = parseAgentSpec(text, { source, format });
    const problems = tenantProblems(spec, source);
    if (spec.name !== name)
      problems.push({ source, path: 'name', message: `must be "${name}", the name in the URL` });
    if (problems.length > 0) throw new SpecInvalidError(problems);
    return spec;
  }

  /** Writes a compiled spec to the store and waits until the watch has registered it here. */
  async #write(
    tenant: string,
    name: string,
    owned: Omit<Pending, 'taken'>,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    const key = definitionKey(tenant, name);
    const pending: Pending = { ...owned, taken: false };
    this.#pending.set(key, pending);
    try {
      const revision = await this.#store!.put(tenant, name, owned.text, owned.format);
      await this.#gate.reach(revision, options.signal);
      if (!pending.taken && this.#byTenant.get(tenant)?.has(name) !== true) {
        // Another node's new names came first (the limit counted them): take this one back.
        await this.#store!.delete(tenant, name);
        throw new DefinitionLimitError(tenant, this.#maxPerTenant);
      }
    } finally {
      if (this.#pending.get(key) === pending) this.#pending.delete(key);
      if (!pending.taken) await pending.compiled.close();
    }
  }

  /** Applies one change of the store here (the watch calls it, one change after the other). */
  async #apply(change: DefinitionChange): Promise<void> {
    const { tenant, name, text } = change;
    try {
      if (tenant === undefined || name === undefined) return;
      if (text === undefined) {
        await this.#drop(tenant, name);
        return;
      }
      const own = this.#byTenant.get(tenant) ?? new Map<string, Owned>();
      const previous = own.get(name);
      if (previous === undefined && own.size >= this.#maxPerTenant) {
        // Past the limit in the store's order (nodes raced for the last names): not registered.
        this.#onInvalid?.(new DefinitionLimitError(tenant, this.#maxPerTenant), { tenant, name });
        return;
      }
      let owned: Owned;
      try {
        owned = await this.#compileStored(tenant, name, text, change.format ?? 'yaml');
      } catch (error) {
        this.#onInvalid?.(error, { tenant, name });
        await this.#drop(tenant, name); // what the store holds for it is unusable
        return;
      }
      own.set(name, owned);
      this.#byTenant.set(tenant, own);
      this.#target.registerTenantDefinition(tenant, owned.compiled.definition);
      await previous?.compiled.close();
    } finally {
      this.#gate.advance(change.revision);
    }
  }

  /** A stored text as a definition: the one this node compiled for its own PUT, or checked and compiled anew. */
  async #compileStored(tenant: string, name: string, text: string, format: 'json' | 'yaml'): Promise<Owned> {
    const pending = this.#pending.get(definitionKey(tenant, name));
    if (pending !== undefined && !pending.taken && pending.text === text && pending.format === format) {
      pending.taken = true;
      return { spec: pending.spec, compiled: pending.compiled };
    }
    const spec = this.#check(name, text, format);
    const compiled = await withTenant(tenant, () => compileAgentSpec(spec, this.#deps));
    return { spec, compiled };
  }

  /** Removes the tenant's definition here. */
  async #drop(tenant: string, name: string): Promise<boolean> {
    const own = this.#byTenant.get(tenant);
    const owned = own?.get(name);
    if (own === undefined || owned === undefined) return false;
    own.delete(name);
    if (own.size === 0) this.#byTenant.delete(tenant);
    this.#target.unregisterTenantDefinition(tenant, name);
    await owned.compiled.close();
    return true;
  }
}

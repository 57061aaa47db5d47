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
import {
  decodeVersions,
  encodeVersions,
  type StoredVersion,
  type StoredVersions,
} from './stored-versions.ts';
import {
  type SpecVersionInfo,
  type SpecVersionStatus,
  specVersionId,
  VersionedDefinition,
  VersionNotFoundError,
  type VersionSplit,
} from './versioned-definition.ts';

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
  /** Told of each message a version handled while a split is set (for rollouts). */
  onResult?: (tenant: string, name: string, version: string, latencyMs: number, ok: boolean) => void;
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

/** One version's source: the checked spec and the text it was put as. */
interface TenantSource {
  tenant: string;
  id: string;
  spec: AgentSpecDocument;
  text: string;
  format: 'json' | 'yaml';
}

type Owned = VersionedDefinition<TenantSource>;

/** A spec this node compiled for its PUT, for its watch to register when the store hands it back. */
interface Pending {
  compiled: CompiledAgentSpec;
  taken: boolean;
}

/** Versions a stored definition keeps: the newest, and the current one. */
const STORED_VERSIONS = 6;

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
  readonly #onResult: TenantDefinitionsOptions['onResult'];
  readonly #gate: RevisionGate;
  /** Compiled for this node's own writes, by definition key and version id. */
  readonly #pending = new Map<string, Pending>();
  #watch: DefinitionWatch | undefined;

  constructor(options: TenantDefinitionsOptions) {
    this.#target = options.target;
    this.#deps = options.deps ?? {};
    this.#maxPerTenant = options.maxPerTenant ?? 100;
    this.#maxBytes = options.maxBytes ?? 65_536;
    this.#store = options.store;
    this.#onInvalid = options.onInvalid;
    this.#onResult = options.onResult;
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
   * Adds a version of the tenant's definition `name` from a spec text (JSON or YAML) and makes
   * it current (new agents' messages go to it; messages in flight finish on theirs), or with
   * `current: false` only keeps it (for a rollout). The first version creates the definition
   * (`created`); `added` says whether the version is new (the same content is the same version).
   * With a store, writes it there and answers once this node has registered it.
   * @throws SpecInvalidError (also when the spec's name is not `name`), SpecTooLargeError,
   * DefinitionLimitError, DefinitionStoreUnavailableError
   */
  async put(
    tenant: string,
    name: string,
    text: string,
    options: { format?: 'json' | 'yaml'; signal?: AbortSignal; current?: boolean } = {},
  ): Promise<{ spec: AgentSpecDocument; created: boolean; version: SpecVersionInfo; added: boolean }> {
    const format = options.format ?? 'yaml';
    const spec = this.#check(name, text, format);
    if (this.#store !== undefined) await this.sync(options);
    const own = this.#byTenant.get(tenant) ?? new Map<string, Owned>();
    const previous = own.get(name);
    if (previous === undefined && own.size >= this.#maxPerTenant)
      throw new DefinitionLimitError(tenant, this.#maxPerTenant);
    const id = specVersionId(spec);
    const label = previous?.find(id)?.label ?? spec.version ?? nextLabel(previous);
    const current = options.current !== false || previous === undefined;
    if (this.#store !== undefined) {
      const stored = storedOf(previous);
      const added = !stored.versions.some((v) => v.id === id);
      if (added) {
        // Compiled here first, so a spec that cannot compile is refused before it is stored.
        const compiled = await compileAgentSpec(spec, { ...this.#deps, signal: options.signal });
        this.#pending.set(pendingKey(tenant, name, id), { compiled, taken: false });
        stored.versions.push({ id, label, format, text });
      }
      if (current) stored.current = id;
      await this.#write(tenant, name, trimStored(stored), id, options);
      const version = this.#byTenant.get(tenant)?.get(name)?.find(id);
      if (version === undefined) throw new DefinitionLimitError(tenant, this.#maxPerTenant);
      return { spec, created: previous === undefined, version, added };
    }
    const versions = previous ?? this.#versionsFor(tenant, name);
    const added = await versions.add({ tenant, id, spec, text, format }, { id, label }, { current });
    if (previous === undefined) {
      own.set(name, versions);
      this.#byTenant.set(tenant, own);
    }
    if (previous === undefined || added.reshaped)
      this.#target.registerTenantDefinition(tenant, versions.definition);
    return { spec, created: previous === undefined, version: added.version, added: added.created };
  }

  /**
   * Makes a kept version of the tenant's definition current (a rollback, or a rollout's
   * promotion); with a store, on every node. @throws VersionNotFoundError, DefinitionStoreUnavailableError
   */
  async setCurrent(tenant: string, name: string, ref: string): Promise<SpecVersionInfo> {
    if (this.#store !== undefined) await this.sync();
    const versions = this.#byTenant.get(tenant)?.get(name);
    if (versions === undefined) throw new VersionNotFoundError(name, ref, []);
    const found = versions.find(ref);
    if (found === undefined)
      throw new VersionNotFoundError(
        name,
        ref,
        versions.versions().map((v) => v.version),
      );
    if (this.#store !== undefined) {
      const stored = storedOf(versions);
      stored.current = found.id;
      await this.#write(tenant, name, trimStored(stored), found.id, {});
      return found;
    }
    const { reshaped } = await versions.setCurrent(found.id);
    if (reshaped) this.#target.registerTenantDefinition(tenant, versions.definition);
    return found;
  }

  /** Sets (or clears) a canary split of the tenant's definition on this node. @throws VersionNotFoundError */
  async setSplit(tenant: string, name: string, split: VersionSplit | undefined): Promise<void> {
    const versions = this.#byTenant.get(tenant)?.get(name);
    if (versions === undefined) {
      if (split === undefined) return;
      throw new VersionNotFoundError(name, split.to, []);
    }
    await versions.setSplit(split);
  }

  /** The versions of the tenant's definition `name` kept here, or undefined when it has none. */
  versions(tenant: string, name: string): SpecVersionStatus[] | undefined {
    return this.#byTenant.get(tenant)?.get(name)?.versions();
  }

  /** The kept version of the tenant's definition named by id, `label@id` or label, or undefined. */
  findVersion(tenant: string, name: string, ref: string): SpecVersionInfo | undefined {
    return this.#byTenant.get(tenant)?.get(name)?.find(ref);
  }

  /** The tenant's definitions' current specs, by name (as registered here: `sync()` first to see the store's latest). */
  list(tenant: string): AgentSpecDocument[] {
    return [...(this.#byTenant.get(tenant)?.values() ?? [])]
      .map((v) => v.source()?.spec)
      .filter((spec) => spec !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The tenant's current spec `name`, or undefined (another tenant's is never returned). */
  get(tenant: string, name: string): AgentSpecDocument | undefined {
    return this.#byTenant.get(tenant)?.get(name)?.source()?.spec;
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
    await Promise.allSettled(all.map((v) => v.close()));
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

  /** The versions of a tenant's definition: compiled in the tenant's context (or taken from this node's write). */
  #versionsFor(tenant: string, name: string): Owned {
    return new VersionedDefinition<TenantSource>({
      name,
      compile: (source) => {
        const key = pendingKey(tenant, name, source.id);
        const pending = this.#pending.get(key);
        if (pending !== undefined && !pending.taken) {
          pending.taken = true;
          this.#pending.delete(key);
          return Promise.resolve(pending.compiled);
        }
        return withTenant(tenant, () => compileAgentSpec(source.spec, this.#deps));
      },
      onResult: (version, ms, ok) => this.#onResult?.(tenant, name, version, ms, ok),
      onError: (error) => this.#onInvalid?.(error, { tenant, name }),
    });
  }

  /** Writes a definition's versions to the store and waits until the watch has applied them here. */
  async #write(
    tenant: string,
    name: string,
    stored: StoredVersions,
    id: string,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    const key = pendingKey(tenant, name, id);
    try {
      const revision = await this.#store!.put(tenant, name, encodeVersions(stored), 'json');
      await this.#gate.reach(revision, options.signal);
      if (this.#byTenant.get(tenant)?.has(name) !== true) {
        // Another node's new names came first (the limit counted them): take this one back.
        await this.#store!.delete(tenant, name);
        throw new DefinitionLimitError(tenant, this.#maxPerTenant);
      }
    } finally {
      const pending = this.#pending.get(key);
      this.#pending.delete(key);
      if (pending !== undefined && !pending.taken) await pending.compiled.close();
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
      const versions = previous ?? this.#versionsFor(tenant, name);
      let reshaped: boolean;
      try {
        reshaped = await this.#applyStored(versions, tenant, name, text, change.format ?? 'yaml');
      } catch (error) {
        this.#onInvalid?.(error, { tenant, name });
        // Unusable: a definition new here is not registered; one already serving serves on.
        if (previous === undefined) await versions.close();
        return;
      }
      if (previous === undefined) {
        own.set(name, versions);
        this.#byTenant.set(tenant, own);
      }
      if (previous === undefined || reshaped)
        this.#target.registerTenantDefinition(tenant, versions.definition);
    } finally {
      this.#gate.advance(change.revision);
    }
  }

  /** Brings a definition's versions here in line with a stored text; returns whether its router changed. */
  async #applyStored(
    versions: Owned,
    tenant: string,
    name: string,
    text: string,
    format: 'json' | 'yaml',
  ): Promise<boolean> {
    let stored = decodeVersions(text, format);
    if (stored === undefined) {
      // A plain spec text (stored before versions): one version of its own.
      const spec = this.#check(name, text, format);
      const id = specVersionId(spec);
      stored = { current: id, versions: [{ id, label: spec.version ?? 'r1', format, text }] };
    }
    const currentText = stored.versions.find((v) => v.id === stored.current)!;
    const currentSpec = this.#check(name, currentText.text, currentText.format);
    let reshaped = false;
    for (const v of stored.versions) {
      if (versions.find(v.id)?.id === v.id) continue;
      let spec: AgentSpecDocument;
      try {
        spec = v === currentText ? currentSpec : this.#check(name, v.text, v.format);
      } catch (error) {
        this.#onInvalid?.(error, { tenant, name }); // an old version unusable: not kept
        continue;
      }
      const added = await versions.add(
        { tenant, id: v.id, spec, text: v.text, format: v.format },
        { id: v.id, label: v.label },
        { lazy: true },
      );
      reshaped ||= added.reshaped;
    }
    const moved = await versions.setCurrent(stored.current);
    return reshaped || moved.reshaped;
  }

  /** Removes the tenant's definition here. */
  async #drop(tenant: string, name: string): Promise<boolean> {
    const own = this.#byTenant.get(tenant);
    const versions = own?.get(name);
    if (own === undefined || versions === undefined) return false;
    own.delete(name);
    if (own.size === 0) this.#byTenant.delete(tenant);
    this.#target.unregisterTenantDefinition(tenant, name);
    await versions.close();
    return true;
  }
}

function pendingKey(tenant: string, name: string, id: string): string {
  return `${definitionKey(tenant, name)}\0${id}`;
}

/** A label for a version whose spec gives none: `r<n>`, one past the highest kept. */
function nextLabel(versions: Owned | undefined): string {
  let highest = 0;
  for (const v of versions?.versions() ?? []) {
    const n = /^r(\d+)$/.exec(v.label);
    if (n !== null) highest = Math.max(highest, Number(n[1]));
  }
  return `r${highest + 1}`;
}

/** What the store should hold for a definition's versions kept here. */
function storedOf(versions: Owned | undefined): StoredVersions {
  const list: StoredVersion[] = [];
  for (const v of versions?.versions() ?? []) {
    const source = versions!.source(v.id);
    if (source !== undefined)
      list.push({ id: v.id, label: v.label, format: source.format, text: source.text });
  }
  return { current: versions?.current?.id ?? '', versions: list };
}

/** At most `STORED_VERSIONS`: the current one and the newest others. */
function trimStored(stored: StoredVersions): StoredVersions {
  const others = stored.versions.filter((v) => v.id !== stored.current);
  const keep = new Set(others.slice(-(STORED_VERSIONS - 1)).map((v) => v.id));
  keep.add(stored.current);
  return { current: stored.current, versions: stored.versions.filter((v) => keep.has(v.id)) };
}

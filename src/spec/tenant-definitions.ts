import type { AgentDefinition } from '../core/index.ts';
import { AgentfleetError, InvalidOptionsError } from '../errors/index.ts';
import type { AgentSpecDocument } from './agent-spec-schema.ts';
import { type CompileAgentSpecDeps, type CompiledAgentSpec, compileAgentSpec } from './compile-agent-spec.ts';
import type { SpecErrorCode } from './error-codes.ts';
import { SpecInvalidError, type SpecProblem } from './errors.ts';
import { parseAgentSpec } from './parse-agent-spec.ts';

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
 */
export class TenantDefinitions {
  readonly name = 'definitions';
  readonly #byTenant = new Map<string, Map<string, Owned>>();
  readonly #target: TenantDefinitionTarget;
  readonly #deps: Omit<CompileAgentSpecDeps, 'signal'>;
  readonly #maxPerTenant: number;
  readonly #maxBytes: number;

  constructor(options: TenantDefinitionsOptions) {
    this.#target = options.target;
    this.#deps = options.deps ?? {};
    this.#maxPerTenant = options.maxPerTenant ?? 100;
    this.#maxBytes = options.maxBytes ?? 65_536;
    for (const [key, value] of [
      ['maxPerTenant', this.#maxPerTenant],
      ['maxBytes', this.#maxBytes],
    ] as const)
      if (!Number.isInteger(value) || value < 1)
        throw new InvalidOptionsError(`TenantDefinitions: ${key} must be a positive integer, got ${value}.`);
  }

  /** The most UTF-8 bytes a spec may have. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * Creates or replaces the tenant's definition `name` from a spec text (JSON or YAML).
   * @throws SpecInvalidError (also when the spec's name is not `name`), SpecTooLargeError, DefinitionLimitError
   */
  async put(
    tenant: string,
    name: string,
    text: string,
    options: { format?: 'json' | 'yaml'; signal?: AbortSignal } = {},
  ): Promise<{ spec: AgentSpecDocument; created: boolean }> {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.#maxBytes) throw new SpecTooLargeError(bytes, this.#maxBytes);
    const source = `definitions/${name}`;
    const spec = parseAgentSpec(text, { source, format: options.format });
    const problems = tenantProblems(spec, source);
    if (spec.name !== name)
      problems.push({ source, path: 'name', message: `must be "${name}", the name in the URL` });
    if (problems.length > 0) throw new SpecInvalidError(problems);
    const own = this.#byTenant.get(tenant) ?? new Map<string, Owned>();
    const previous = own.get(name);
    if (previous === undefined && own.size >= this.#maxPerTenant)
      throw new DefinitionLimitError(tenant, this.#maxPerTenant);
    const compiled = await compileAgentSpec(spec, { ...this.#deps, signal: options.signal });
    own.set(name, { spec, compiled });
    this.#byTenant.set(tenant, own);
    this.#target.registerTenantDefinition(tenant, compiled.definition);
    await previous?.compiled.close();
    return { spec, created: previous === undefined };
  }

  /** The tenant's definitions' specs, by name. */
  list(tenant: string): AgentSpecDocument[] {
    return [...(this.#byTenant.get(tenant)?.values() ?? [])]
      .map((o) => o.spec)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The tenant's spec `name`, or undefined (another tenant's is never returned). */
  get(tenant: string, name: string): AgentSpecDocument | undefined {
    return this.#byTenant.get(tenant)?.get(name)?.spec;
  }

  /** Deletes the tenant's definition; agents already created from it keep running. */
  async delete(tenant: string, name: string): Promise<boolean> {
    const own = this.#byTenant.get(tenant);
    const owned = own?.get(name);
    if (own === undefined || owned === undefined) return false;
    own.delete(name);
    if (own.size === 0) this.#byTenant.delete(tenant);
    this.#target.unregisterTenantDefinition(tenant, name);
    await owned.compiled.close();
    return true;
  }

  /** Deletes every definition of the tenant (tenant deletion). */
  async purgeTenant(tenant: string): Promise<{ definitions: number }> {
    const names = [...(this.#byTenant.get(tenant)?.keys() ?? [])];
    for (const name of names) await this.delete(tenant, name);
    return { definitions: names.length };
  }

  /** Releases every compiled definition's resources. */
  async close(): Promise<void> {
    const all = [...this.#byTenant.values()].flatMap((own) => [...own.values()]);
    this.#byTenant.clear();
    await Promise.allSettled(all.map((o) => o.compiled.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { currentTenantId } from '../context/index.ts';
import { type AgentDefinition, defineAgent, InvalidInputError, type StepContext } from '../core/index.ts';
import { AgentfleetError, formatIssues, isRefusal, markRefusal } from '../errors/index.ts';
import type { CompiledAgentSpec } from './compile-agent-spec.ts';
import type { SpecErrorCode } from './error-codes.ts';

/** One version of a definition: its content hash, its label and the text it came from. */
export interface SpecVersionInfo {
  /** Content hash: the first 12 hex digits of SHA-256 over the spec and the files it names. */
  readonly id: string;
  /** The spec's `version`, or `r<n>` in the order versions were added. */
  readonly label: string;
  /** `label@id`: what runs and provenance records name. */
  readonly version: string;
  /** When this node added it (ms since the epoch). */
  readonly addedAt: number;
}

/** A version as listed: whether it is current, its share in a split, the messages it is handling. */
export interface SpecVersionStatus extends SpecVersionInfo {
  readonly current: boolean;
  /** Percent of new agents a split sends to it (0 when none). */
  readonly percent: number;
  /** Messages being handled by it right now. */
  readonly inFlight: number;
  /** Whether its definition is compiled and holding resources here. */
  readonly loaded: boolean;
}

/** A canary split: `percent` of agents (sticky, by agent id) go to `to`, the rest to `from`. */
export interface VersionSplit {
  readonly from: string;
  readonly to: string;
  readonly percent: number;
}

/** No retained version is called `version`. */
export class VersionNotFoundError extends AgentfleetError<SpecErrorCode> {
  constructor(name: string, version: string, known: readonly string[]) {
    super(
      'VERSION_NOT_FOUND',
      `Definition ${name} has no version ${JSON.stringify(version)}; it has ${known.join(', ') || 'none'}.`,
      { details: { name, version, known } },
    );
  }
}

/** The most characters of a label, so that `label@id` fits a run's version field (64). */
const MAX_LABEL = 51;

/** Content hash of a version: canonical JSON of the spec, plus the texts of files it reads (system prompt). */
export function specVersionId(spec: unknown, files: readonly (string | undefined)[] = []): string {
  const hash = createHash('sha256').update(canonicalJson(spec));
  for (const file of files) hash.update('\0').update(file ?? '');
  return hash.digest('hex').slice(0, 12);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Sticky bucket 0..9999 of an agent: FNV-1a of `tenant/agentId`, so a conversation keeps its version. */
export function stickyBucket(tenant: string | undefined, agentId: string): number {
  const key = `${tenant ?? ''}/${agentId}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 10_000;
}

interface Entry<S> {
  info: SpecVersionInfo;
  source: S;
  compiled: CompiledAgentSpec | undefined;
  loading: Promise<CompiledAgentSpec> | undefined;
  inFlight: number;
}

/** Options of `VersionedDefinition`. */
export interface VersionedDefinitionOptions<S> {
  /** The definition's name (every version's spec has it). */
  name: string;
  /** Compiles a version's source into its definition; called again for a version reloaded later. */
  compile: (source: S) => Promise<CompiledAgentSpec>;
  /** Versions kept besides the current and split ones (to roll back to, or for runs to resume on). Default 5. */
  keep?: number;
  /** Told of each message a version handled while a split is set (latency, whether it failed), for a rollout's figures. */
  onResult?: (version: string, latencyMs: number, ok: boolean) => void;
  /** Told of a retired version's close failing. */
  onError?: (error: unknown) => void;
}

/**
 * Every version of one agent definition, behind one stable definition the runtime registers
 * (a router). Each message is handled wholly by one version: a resumed durable run by the
 * version it started with, an agent under a split by its sticky share, any other by the
 * current. Making a version current is an atomic swap: messages in flight finish on theirs,
 * and a version neither current, split nor retained is closed once it has none left (drain).
 * Retained versions keep their source, and are compiled again when a run or a rollout needs them.
 */
export class VersionedDefinition<S> {
  readonly name: string;
  readonly #compile: (source: S) => Promise<CompiledAgentSpec>;
  readonly #keep: number;
  readonly #onResult: VersionedDefinitionOptions<S>['onResult'];
  readonly #onError: VersionedDefinitionOptions<S>['onError'];
  /** Oldest first. */
  readonly #entries: Entry<S>[] = [];
  #current: Entry<S> | undefined;
  #split: { from: Entry<S>; to: Entry<S>; percent: number } | undefined;
  #definition: AgentDefinition | undefined;
  #added = 0;
  #closed = false;

  constructor(options: VersionedDefinitionOptions<S>) {
    this.name = options.name;
    this.#compile = options.compile;
    this.#keep = options.keep ?? 5;
    this.#onResult = options.onResult;
    this.#onError = options.onError;
  }

  /** The definition to register: its shape (concurrency, mailbox, state rules, durability) is the current version's. */
  get definition(): AgentDefinition {
    if (this.#definition === undefined) throw new VersionNotFoundError(this.name, 'current', []);
    return this.#definition;
  }

  /** The current version. */
  get current(): SpecVersionInfo | undefined {
    return this.#current?.info;
  }

  /** The split in force, if any. */
  get split(): VersionSplit | undefined {
    const s = this.#split;
    return s === undefined
      ? undefined
      : { from: s.from.info.version, to: s.to.info.version, percent: s.percent };
  }

  /** Every retained version, oldest first. */
  versions(): SpecVersionStatus[] {
    return this.#entries.map((e) => ({
      ...e.info,
      current: e === this.#current,
      percent:
        this.#split === undefined
          ? 0
          : e === this.#split.to
            ? this.#split.percent
            : e === this.#split.from
              ? 100 - this.#split.percent
              : 0,
      inFlight: e.inFlight,
      loaded: e.compiled !== undefined,
    }));
  }

  /** The source of a retained version (default: the current one). */
  source(ref?: string): S | undefined {
    return (ref === undefined ? this.#current : this.#find(ref))?.source;
  }

  /** The retained version named by its id, its `label@id` or its label (the newest with it). */
  find(ref: string): SpecVersionInfo | undefined {
    return this.#find(ref)?.info;
  }

  /**
   * Adds a version (compiled now, so a bad one is refused before anything changes; with `lazy`
   * a version not made current is compiled when first needed) and, with `current` (or when
   * there is none), makes it the current one. Adding a version already retained (same content) only
   * moves `current`. Returns the version and whether the definition's shape changed (register
   * `definition` again then).
   */
  async add(
    source: S,
    meta: { id: string; label?: string | undefined },
    options: { current?: boolean; lazy?: boolean } = {},
  ): Promise<{ version: SpecVersionInfo; created: boolean; reshaped: boolean }> {
    let entry = this.#entries.find((e) => e.info.id === meta.id);
    const created = entry === undefined;
    if (entry === undefined) {
      const makeCurrent = options.current === true || this.#current === undefined;
      const compiled = options.lazy === true && !makeCurrent ? undefined : await this.#compile(source);
      if (this.#closed) {
        await compiled?.close();
        throw new AgentfleetError('VERSION_NOT_FOUND', `Definition ${this.name} is closed.`);
      }
      this.#added += 1;
      const label = (meta.label ?? `r${this.#added}`).slice(0, MAX_LABEL);
      entry = {
        info: { id: meta.id, label, version: `${label}@${meta.id}`, addedAt: Date.now() },
        source,
        compiled,
        loading: undefined,
        inFlight: 0,
      };
      this.#entries.push(entry);
    }
    let reshaped = false;
    if (options.current === true || this.#current === undefined) reshaped = await this.#makeCurrent(entry);
    this.#retire();
    return { version: entry.info, created, reshaped };
  }

  /** Makes a retained version current (a rollback or a promotion). @throws VersionNotFoundError */
  async setCurrent(ref: string): Promise<{ version: SpecVersionInfo; reshaped: boolean }> {
    const entry = this.#require(ref);
    const reshaped = await this.#makeCurrent(entry);
    this.#retire();
    return { version: entry.info, reshaped };
  }

  /** Sets (or, with undefined, clears) a canary split between two retained versions. @throws VersionNotFoundError */
  async setSplit(split: VersionSplit | undefined): Promise<void> {
    if (split === undefined) {
      this.#split = undefined;
      this.#retire();
      return;
    }
    const from = this.#require(split.from);
    const to = this.#require(split.to);
    await Promise.all([this.#load(from), this.#load(to)]);
    this.#split = { from, to, percent: Math.min(100, Math.max(0, split.percent)) };
    this.#retire();
  }

  /** Closes every version's resources (the node is closing: nothing is in flight any more). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#split = undefined;
    const all = this.#entries.splice(0);
    await Promise.allSettled(all.map((e) => this.#unload(e)));
  }

  async #makeCurrent(entry: Entry<S>): Promise<boolean> {
    const compiled = await this.#load(entry);
    this.#current = entry;
    const shape = shapeOf(compiled.definition);
    const reshaped = this.#definition === undefined || shapeOf(this.#definition) !== shape;
    if (reshaped) this.#definition = this.#router(compiled.definition);
    return reshaped;
  }

  /** Drops what is over `keep`, and closes versions not in use once drained. */
  #retire(): void {
    const inUse = (e: Entry<S>) => e === this.#current || e === this.#split?.from || e === this.#split?.to;
    let spare = this.#entries.filter((e) => !inUse(e)).length - this.#keep;
    for (let i = 0; i < this.#entries.length && spare > 0; ) {
      const e = this.#entries[i]!;
      if (inUse(e) || e.inFlight > 0) {
        i++;
        continue;
      }
      this.#entries.splice(i, 1);
      spare--;
      void this.#unload(e);
    }
    for (const e of this.#entries)
      if (e.compiled !== undefined && !inUse(e) && e.inFlight === 0) void this.#unload(e);
  }

  async #unload(entry: Entry<S>): Promise<void> {
    const compiled = entry.compiled;
    entry.compiled = undefined;
    if (compiled === undefined) return;
    try {
      await compiled.close();
    } catch (error) {
      this.#onError?.(error);
    }
  }

  async #load(entry: Entry<S>): Promise<CompiledAgentSpec> {
    if (entry.compiled !== undefined) return entry.compiled;
    entry.loading ??= this.#compile(entry.source).finally(() => {
      entry.loading = undefined;
    });
    const compiled = await entry.loading;
    entry.compiled ??= compiled;
    if (entry.compiled !== compiled) await compiled.close();
    return entry.compiled;
  }

  #find(ref: string): Entry<S> | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e.info.id === ref || e.info.version === ref || e.info.label === ref) return e;
    }
    return undefined;
  }

  #require(ref: string): Entry<S> {
    const entry = this.#find(ref);
    if (entry === undefined)
      throw new VersionNotFoundError(
        this.name,
        ref,
        this.#entries.map((e) => e.info.version),
      );
    return entry;
  }

  /** The version a message goes to: a resumed run's own, a split's sticky share, or the current. */
  async #choose(ctx: StepContext): Promise<Entry<S>> {
    const run = ctx.run;
    if (run?.resume === true && run.id !== undefined) {
      const store = run.store as {
        get?: (t: string | undefined, id: string) => Promise<{ version?: string } | undefined>;
      };
      const record = await store?.get?.(currentTenantId(), run.id);
      const started = record?.version === undefined ? undefined : this.#find(record.version);
      if (started !== undefined) return started;
    }
    const split = this.#split;
    if (split !== undefined)
      return stickyBucket(currentTenantId(), ctx.agentId) < split.percent * 100 ? split.to : split.from;
    return this.#current!;
  }

  /** One definition that hands each message to a version's perception, cognition and action. */
  #router(shape: AgentDefinition): AgentDefinition {
    // Checks a message against the current version when it is sent (a bad one never takes a
    // mailbox slot), and says which version checked it, so the step parses again only when
    // another version (a split's, a resumed run's) handles it.
    const input = z.unknown().transform((raw, issues): Checked => {
      const by = this.#current;
      const parsed = by?.compiled?.definition.input?.safeParse(raw);
      if (parsed === undefined) return { [CHECKED]: by, raw, data: raw };
      if (!parsed.success) {
        for (const message of formatIssues(parsed.error)) issues.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return { [CHECKED]: by, raw, data: parsed.data };
    });
    const step = async (value: unknown, ctx: StepContext): Promise<unknown> => {
      const entry = await this.#choose(ctx);
      entry.inFlight++;
      const started = performance.now();
      let ok = false;
      let refused = false;
      try {
        const { definition } = await this.#load(entry);
        const checked = isChecked(value) ? value : undefined;
        let message = checked === undefined ? value : checked.data;
        if (definition.input !== undefined && checked?.[CHECKED] !== entry) {
          const parsed = definition.input.safeParse(checked === undefined ? value : checked.raw);
          if (!parsed.success)
            throw markRefusal(new InvalidInputError('message', ctx.agentId, formatIssues(parsed.error)));
          message = parsed.data;
        }
        const versionCtx = contextFor(ctx, entry.info.version, definition);
        const percept =
          definition.perceive === undefined ? message : await definition.perceive(message, versionCtx);
        const decision = await definition.decide(percept, versionCtx);
        const output =
          definition.act === undefined ? decision : await definition.act(decision as never, versionCtx);
        ok = true;
        return output;
      } catch (error) {
        refused = isRefusal(error);
        throw error;
      } finally {
        entry.inFlight--;
        if (this.#split !== undefined && !refused)
          this.#onResult?.(entry.info.version, performance.now() - started, ok);
        const split = this.#split;
        if (entry.inFlight === 0 && entry !== this.#current && entry !== split?.from && entry !== split?.to)
          this.#retire();
      }
    };
    return defineAgent({
      name: this.name,
      description: shape.description,
      version: this.#current?.info.version ?? shape.version,
      input,
      decide: {
        decide: step,
        purgeTenant: async (tenantId: string) => {
          await Promise.all(this.#entries.map((e) => e.compiled?.definition.purgeTenant?.(tenantId)));
        },
      },
      concurrency: shape.concurrency,
      mailboxCapacity: shape.mailboxCapacity,
      stopTimeoutMs: shape.stopTimeoutMs,
      onStepError: shape.onStepError,
      durable: shape.durable,
      ...(shape.state === undefined ? {} : { state: shape.state as never }),
    }) as AgentDefinition;
  }
}

const CHECKED = Symbol('checked by');

/** A message as the router's schema hands it on: the version that checked it, as sent and as parsed. */
interface Checked {
  readonly [CHECKED]: object | undefined;
  readonly raw: unknown;
  readonly data: unknown;
}

function isChecked(value: unknown): value is Checked {
  return typeof value === 'object' && value !== null && CHECKED in value;
}

/** What makes two versions' routers differ: the fields the runtime reads from a definition. */
function shapeOf(d: AgentDefinition): string {
  return JSON.stringify([
    d.description,
    d.concurrency,
    d.mailboxCapacity,
    d.stopTimeoutMs,
    d.onStepError,
    d.durable,
    d.state,
  ]);
}

/** The step's context as the chosen version sees it: its own version and definition. */
function contextFor(ctx: StepContext, version: string, definition: AgentDefinition): StepContext {
  return {
    get agentId() {
      return ctx.agentId;
    },
    definition: definition.name,
    version,
    get config() {
      return ctx.config;
    },
    get memory() {
      return ctx.memory;
    },
    get signal() {
      return ctx.signal;
    },
    fail: (error) => ctx.fail(error),
    emit: (part) => ctx.emit(part),
    get observed() {
      return ctx.observed;
    },
    get run() {
      return ctx.run;
    },
  };
}

import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AgentDefinition } from '../core/index.ts';
import { type CompileAgentSpecDeps, type CompiledAgentSpec, compileAgentSpec } from './compile-agent-spec.ts';
import { SpecInvalidError, type SpecProblem } from './errors.ts';
import { type LoadedAgentSpec, loadAgentSpecs, resolveSpecFiles } from './load-agent-specs.ts';
import { parseAgentSpec } from './parse-agent-spec.ts';
import {
  type SpecVersionInfo,
  specVersionId,
  VersionedDefinition,
  VersionNotFoundError,
} from './versioned-definition.ts';

/** Where the folder's definitions are registered: the node's runtime. */
export interface AgentsFolderTarget {
  register(definition: AgentDefinition): unknown;
  replace(definition: AgentDefinition): unknown;
}

/** What one reload did to one file. */
export interface AgentsFolderChange {
  file: string;
  name?: string;
  /** `updated`: a new current version; `added`: a new definition; `invalid`: refused, the old one serves on; `removed`: the file is gone, its definition serves on. */
  outcome: 'added' | 'updated' | 'invalid' | 'removed';
  version?: string;
  error?: unknown;
}

/** Options of `AgentsFolder.open`. */
export interface AgentsFolderOptions {
  dir: string;
  target: AgentsFolderTarget;
  deps?: Omit<CompileAgentSpecDeps, 'signal'>;
  /** Reload when a file in the folder changes. Default true. */
  watch?: boolean;
  /** Quiet time after the last change before reloading, ms. Default 200. */
  debounceMs?: number;
  /** Told of every change a reload made (or refused). */
  onChange?: (change: AgentsFolderChange) => void;
  /** Told of each message a version handled while a split is set (for rollouts). */
  onResult?: (name: string, version: string, latencyMs: number, ok: boolean) => void;
  signal?: AbortSignal;
}

const SPEC_FILE = /\.(ya?ml|json)$/i;

/** The content hash of a loaded spec: the spec and the system prompt it reads. */
function idOf(loaded: LoadedAgentSpec): string {
  return specVersionId(loaded.spec, [loaded.system, ...loaded.documents]);
}

/**
 * The node's agents folder, versioned and hot-reloaded. At start it loads all or nothing (a
 * bad spec fails the start with `SPEC_INVALID`); afterwards each file is on its own: a valid
 * edit becomes its definition's new current version (runs in flight finish on theirs), a bad
 * one is refused and reported while the old version serves on, a new file adds a definition,
 * and a deleted file is reported (its definition serves on until the node restarts).
 */
export class AgentsFolder {
  readonly dir: string;
  readonly #target: AgentsFolderTarget;
  readonly #deps: Omit<CompileAgentSpecDeps, 'signal'>;
  readonly #onChange: AgentsFolderOptions['onChange'];
  readonly #onResult: AgentsFolderOptions['onResult'];
  readonly #debounceMs: number;
  readonly #byName = new Map<string, VersionedDefinition<LoadedAgentSpec>>();
  /** Which definition each file last gave. */
  readonly #fileNames = new Map<string, string>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<AgentsFolderChange[]> = Promise.resolve([]);
  #closed = false;

  private constructor(options: AgentsFolderOptions) {
    this.dir = resolve(options.dir);
    this.#target = options.target;
    this.#deps = options.deps ?? {};
    this.#onChange = options.onChange;
    this.#onResult = options.onResult;
    this.#debounceMs = options.debounceMs ?? 200;
  }

  /** Loads and registers every spec of the folder, then watches it. @throws SpecInvalidError, AbortedError */
  static async open(options: AgentsFolderOptions): Promise<AgentsFolder> {
    const folder = new AgentsFolder(options);
    try {
      for (const loaded of await loadAgentSpecs(folder.dir, { signal: options.signal })) {
        await folder.#add(loaded);
        folder.#fileNames.set(loaded.source, loaded.spec.name);
      }
      if (options.watch !== false) folder.#watch();
    } catch (error) {
      await folder.close();
      throw error;
    }
    return folder;
  }

  /** The definitions' names. */
  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** The versions of the folder's definition `name`, or undefined. */
  versions(name: string): VersionedDefinition<LoadedAgentSpec> | undefined {
    return this.#byName.get(name);
  }

  /**
   * Makes a kept version of the folder's definition `name` current (a rollout's promotion or a
   * rollback); it lasts until its file changes or the node restarts. @throws VersionNotFoundError
   */
  async setCurrent(name: string, ref: string): Promise<SpecVersionInfo> {
    const versions = this.#byName.get(name);
    if (versions === undefined) throw new VersionNotFoundError(name, ref, []);
    const { version, reshaped } = await versions.setCurrent(ref);
    if (reshaped) this.#target.replace(versions.definition);
    return version;
  }

  /**
   * Keeps a version of the folder's definition from a spec text (JSON or YAML) beside the
   * current one, for a rollout; not written to the folder. Its files (`systemFile`,
   * `knowledge.documents`) resolve against the folder.
   * @throws SpecInvalidError (also when its name is not `name`, or there is no such definition)
   */
  async stage(name: string, text: string, format: 'json' | 'yaml'): Promise<SpecVersionInfo> {
    const source = `${this.dir}/${name} (staged)`;
    const spec = parseAgentSpec(text, { source, format });
    const versions = this.#byName.get(name);
    if (spec.name !== name || versions === undefined)
      throw new SpecInvalidError([
        {
          source,
          path: 'name',
          message: versions === undefined ? `the agents folder has no "${name}"` : `must be "${name}"`,
        },
      ]);
    const problems: SpecProblem[] = [];
    const loaded = await resolveSpecFiles(spec, source, this.dir, problems);
    if (problems.length > 0) throw new SpecInvalidError(problems);
    const { version } = await versions.add(loaded, { id: idOf(loaded), label: spec.version });
    return version;
  }

  /** Reads the folder again now (one reload at a time) and reports what changed. */
  reload(): Promise<AgentsFolderChange[]> {
    const next = this.#reloading.then(() => this.#reload());
    this.#reloading = next.catch(() => []);
    return next;
  }

  /** Stops watching and closes every version's resources. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#reloading;
    const all = [...this.#byName.values()];
    this.#byName.clear();
    await Promise.allSettled(all.map((v) => v.close()));
  }

  #watch(): void {
    const watcher = watch(this.dir, { persistent: false }, (_event, file) => {
      if (file !== null && !SPEC_FILE.test(String(file))) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.reload(), this.#debounceMs);
      this.#timer.unref();
    });
    watcher.on('error', () => {}); // the folder went away: what is loaded serves on
    this.#watcher = watcher;
  }

  async #reload(): Promise<AgentsFolderChange[]> {
    if (this.#closed) return [];
    const changes: AgentsFolderChange[] = [];
    const report = (change: AgentsFolderChange) => {
      changes.push(change);
      this.#onChange?.(change);
    };
    let files: string[];
    try {
      files = (await readdir(this.dir, { withFileTypes: true }))
        .filter((e) => e.isFile() && SPEC_FILE.test(e.name))
        .map((e) => join(this.dir, e.name))
        .sort();
    } catch (error) {
      report({ file: this.dir, outcome: 'invalid', error });
      return changes;
    }
    const claimed = new Map<string, string>();
    for (const file of files) {
      if (this.#closed) break;
      let name = this.#fileNames.get(file);
      try {
        const loaded = await this.#load(file);
        name = loaded.spec.name;
        const other = claimed.get(name);
        if (other !== undefined)
          throw new SpecInvalidError([
            { source: file, path: 'name', message: `duplicate name "${name}" (also in ${other})` },
          ]);
        claimed.set(name, file);
        this.#fileNames.set(file, name);
        const change = await this.#add(loaded);
        if (change !== undefined) report({ file, name, ...change });
      } catch (error) {
        report({ file, ...(name === undefined ? {} : { name }), outcome: 'invalid', error });
      }
    }
    for (const [file, name] of this.#fileNames)
      if (!files.includes(file)) {
        this.#fileNames.delete(file);
        report({ file, name, outcome: 'removed' });
      }
    return changes;
  }

  async #load(file: string): Promise<LoadedAgentSpec> {
    const spec = parseAgentSpec(await readFile(file, 'utf8'), { source: file });
    const problems: SpecProblem[] = [];
    const loaded = await resolveSpecFiles(spec, file, dirname(file), problems);
    if (problems.length > 0) throw new SpecInvalidError(problems);
    return loaded;
  }

  /** Adds a loaded spec as its definition's current version; undefined when it was already current. */
  async #add(
    loaded: LoadedAgentSpec,
  ): Promise<{ outcome: 'added' | 'updated'; version: string } | undefined> {
    const name = loaded.spec.name;
    let versions = this.#byName.get(name);
    const isNew = versions === undefined;
    const id = idOf(loaded);
    if (versions?.current?.id === id) return undefined;
    versions ??= new VersionedDefinition<LoadedAgentSpec>({
      name,
      compile: (source): Promise<CompiledAgentSpec> => compileAgentSpec(source, this.#deps),
      onResult: (version, ms, ok) => this.#onResult?.(name, version, ms, ok),
    });
    const { version, reshaped } = await versions.add(
      loaded,
      { id, label: loaded.spec.version },
      { current: true },
    );
    if (isNew) {
      try {
        this.#target.register(versions.definition); // not over a definition from code
      } catch (error) {
        await versions.close();
        throw error;
      }
      this.#byName.set(name, versions);
    } else if (reshaped) this.#target.replace(versions.definition);
    return { outcome: isNew ? 'added' : 'updated', version: version.version };
  }
}

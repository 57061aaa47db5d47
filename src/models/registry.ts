import { readFileSync } from 'node:fs';
import { AgentfleetError } from '../errors/index.ts';
import type { Provider } from '../llm/index.ts';
import { createProvider, type ProviderConfig } from './create-provider.ts';
import {
  canonicalJson,
  type ModelsConfig,
  modelsVersion,
  parseModelsConfig,
  providerFingerprint,
  shortHash,
} from './models-config.ts';
import { ProviderClient, ProviderSlot } from './provider-slot.ts';

/** Options of a `ModelRegistry`. */
export interface ModelRegistryOptions {
  /**
   * Milliseconds a client replaced by a reload may keep its calls in flight; after that it is
   * destroyed (its connections dropped, its calls in flight failing with `ABORTED`; a provider
   * without `destroy` is closed as `close()` does). Default 60,000.
   */
  drainTimeoutMs?: number;
}

/** What a `reload` changed, by provider name. */
export interface ModelsReloadSummary {
  /** The config's version now served (`registry.version`). */
  version: string;
  /** Providers that are new. */
  added: string[];
  /** Providers no longer configured: their calls fail with `PROVIDER_REMOVED`. */
  removed: string[];
  /** Providers whose config (or environment) changed: new calls go to a new client. */
  changed: string[];
  /** Providers whose config is deep-equal: they keep their client and its connections. */
  unchanged: string[];
}

const DEFAULT_DRAIN_TIMEOUT_MS = 60_000;

/**
 * Providers by name, so agents name a model as `provider/model` (`openai/gpt-4o-mini`,
 * `vllm/meta-llama/Llama-3.1-8B` — everything after the first `/` is the vendor's model name).
 * What `resolve` answers is a stable facade per name: `reload` swaps the client behind it, so
 * callers never resolve again; a call in flight finishes on the client it started on.
 */
export class ModelRegistry {
  /** Every name ever configured (bounded by the configs loaded), so a facade held by a caller works again once its provider comes back. */
  readonly #slots = new Map<string, ProviderSlot>();
  /** Replaced clients still finishing their calls. */
  readonly #draining = new Set<ProviderClient>();
  #drainWaiters: Array<() => void> = [];
  readonly #drainTimeoutMs: number;
  #config: ModelsConfig | undefined;
  #version: string;
  #closed = false;
  #codeProviders = 0;

  /**
   * A registry of providers built in code (each closed with the registry).
   * @throws InvalidOptionsError (`INVALID_OPTIONS`) for a bad `drainTimeoutMs`
   */
  constructor(providers: Record<string, Provider> = {}, options: ModelRegistryOptions = {}) {
    const timeout = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 2_147_483_647) {
      throw new AgentfleetError(
        'INVALID_OPTIONS',
        `drainTimeoutMs must be an integer from 0 to 2147483647 ms; got ${String(timeout)}.`,
      );
    }
    this.#drainTimeoutMs = timeout;
    this.#version = shortHash('{}');
    for (const [name, provider] of Object.entries(providers)) {
      this.#install(name, new ProviderClient(provider, `code:${++this.#codeProviders}`));
    }
    this.#version = this.#versionOf();
  }

  /**
   * Builds providers from a config object (`{ providers: { name: ProviderConfig }, prices?,
   * version? }`); its `prices` are the budgets' (see `TokenBudgetGate`), not the registry's.
   * @throws the first provider's error (`INVALID_OPTIONS`, `UNKNOWN_PROVIDER`,
   * `PROVIDER_CONFIG_INVALID`, `RESILIENCE_CONFIG_INVALID`); nothing is left open
   */
  static fromConfig(
    config: unknown,
    env: Record<string, string | undefined> = process.env,
    options: ModelRegistryOptions = {},
  ): ModelRegistry {
    const registry = new ModelRegistry({}, options);
    registry.reload(config, env);
    return registry;
  }

  /** Reads a JSON config file; `PROVIDER_CONFIG_INVALID` when it cannot be read or parsed. */
  static fromFile(
    path: string,
    env: Record<string, string | undefined> = process.env,
    options: ModelRegistryOptions = {},
  ): ModelRegistry {
    return ModelRegistry.fromConfig(readModelsFile(path), env, options);
  }

  /**
   * The version of the config served: `label@hash` (its `version` label and the first 12 hex
   * digits of the SHA-256 of its canonical JSON) or the hash. Providers added in code change it too.
   */
  get version(): string {
    return this.#version;
  }

  /** The models config last loaded (`fromConfig`, `reload`), validated in shape; undefined for a registry built in code. */
  get config(): ModelsConfig | undefined {
    return this.#config;
  }

  /** Replaced clients still finishing their calls in flight. */
  get draining(): number {
    return this.#draining.size;
  }

  /** Resolves once every client replaced so far is closed. */
  drained(): Promise<void> {
    if (this.#draining.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Adds (or replaces, draining the old one) a provider built in code. */
  add(provider: Provider): this {
    this.#assertOpen();
    this.#install(provider.name, new ProviderClient(provider, `code:${++this.#codeProviders}`));
    this.#version = this.#versionOf();
    return this;
  }

  /**
   * Serves a new models config without a restart. Every provider that is new or whose config
   * (or environment) changed is built first; any error throws and nothing changes. Then, at
   * once: new calls go to the new clients, the calls in flight finish on the old ones, which
   * close when their last call settles (or after `drainTimeoutMs`). A provider no longer in
   * the config (built in code, too) is removed: `resolve` answers `UNKNOWN_PROVIDER`, calls on a
   * facade held before fail with `PROVIDER_REMOVED`. A deep-equal provider keeps its client.
   * @throws the typed error of the config or of the first provider that cannot be built
   * (`INVALID_OPTIONS`, `UNKNOWN_PROVIDER`, `PROVIDER_CONFIG_INVALID`, `RESILIENCE_CONFIG_INVALID`);
   * `MODELS_CLOSED` once closed
   */
  reload(config: unknown, env: Record<string, string | undefined> = process.env): ModelsReloadSummary {
    this.#assertOpen();
    const parsed = parseModelsConfig(config);
    const summary: ModelsReloadSummary = { version: '', added: [], removed: [], changed: [], unchanged: [] };
    const built = new Map<string, ProviderClient>();
    try {
      for (const [name, providerConfig] of Object.entries(parsed.providers)) {
        const fingerprint = providerFingerprint(name, providerConfig, env);
        const current = this.#slots.get(name)?.client;
        if (current?.fingerprint === fingerprint) {
          summary.unchanged.push(name);
          continue;
        }
        (current === undefined ? summary.added : summary.changed).push(name);
        const provider = createProvider(name, providerConfig as ProviderConfig, env);
        built.set(name, new ProviderClient(provider, fingerprint));
      }
    } catch (error) {
      for (const client of built.values()) void client.close();
      throw error;
    }
    for (const [name, slot] of this.#slots) {
      if (slot.client !== undefined && !(name in parsed.providers)) summary.removed.push(name);
    }
    // The swap: nothing below throws.
    for (const [name, client] of built) this.#install(name, client);
    for (const name of summary.removed) this.#retire(this.#slots.get(name)?.install(undefined));
    this.#config = parsed;
    this.#version = this.#versionOf();
    summary.version = this.#version;
    return summary;
  }

  /** `provider/model` → the provider and the vendor's model name; `UNKNOWN_PROVIDER` or `INVALID_MODEL` otherwise. */
  resolve(ref: string): { provider: Provider; model: string } {
    const slash = typeof ref === 'string' ? ref.indexOf('/') : -1;
    if (slash <= 0 || slash === ref.length - 1) {
      throw new AgentfleetError(
        'INVALID_MODEL',
        `A model is named provider/model; got ${JSON.stringify(ref)}.`,
      );
    }
    const name = ref.slice(0, slash);
    const slot = this.#slots.get(name);
    if (slot?.client === undefined) {
      throw new AgentfleetError(
        'UNKNOWN_PROVIDER',
        `No provider named ${name}; configured: ${this.names().join(', ') || 'none'}.`,
      );
    }
    return { provider: slot, model: ref.slice(slash + 1) };
  }

  /** The names of the providers served now. */
  names(): string[] {
    return [...this.#slots].filter(([, slot]) => slot.client !== undefined).map(([name]) => name);
  }

  /**
   * Closes every client: the current ones as a provider closes (calls in flight may finish),
   * the draining ones at once (their calls in flight abort with `ABORTED`). Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const closing = [...this.#draining].map((client) =>
      client.abortAndClose('The model registry closed while the call was draining from a replaced provider.'),
    );
    for (const slot of this.#slots.values()) {
      const client = slot.install(undefined, 'closed');
      if (client !== undefined) closing.push(client.close());
    }
    await Promise.all(closing);
  }

  #install(name: string, client: ProviderClient): void {
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = new ProviderSlot(name);
      this.#slots.set(name, slot);
    }
    this.#retire(slot.install(client));
  }

  #retire(client: ProviderClient | undefined): void {
    if (client === undefined) return;
    this.#draining.add(client);
    client.retire(this.#drainTimeoutMs, () => {
      this.#draining.delete(client);
      if (this.#draining.size === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
    });
  }

  #versionOf(): string {
    const fromConfig = this.#config === undefined ? shortHash('{}') : modelsVersion(this.#config);
    const code = [...this.#slots]
      .filter(([, slot]) => slot.client?.fingerprint.startsWith('code:') === true)
      .map(([name, slot]) => `${name}=${slot.client?.fingerprint}`);
    if (code.length === 0) return fromConfig;
    return `${fromConfig}+${shortHash(canonicalJson(code.sort()))}`;
  }

  #assertOpen(): void {
    if (this.#closed) throw new AgentfleetError('MODELS_CLOSED', 'The model registry is closed.');
  }
}

/**
 * Reads a models config file (JSON).
 * @throws AgentfleetError `PROVIDER_CONFIG_INVALID` when it cannot be read or is not JSON
 */
export function readModelsFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(path, error);
  }
  return parseModelsJson(text, path);
}

/** `Cannot read <path>`, as `PROVIDER_CONFIG_INVALID`. */
export function unreadable(path: string, error: unknown): AgentfleetError {
  return new AgentfleetError('PROVIDER_CONFIG_INVALID', `Cannot read ${path}: ${(error as Error).message}`, {
    cause: error,
  });
}

/**
 * The JSON of a models file read from `path`.
 * @throws AgentfleetError `PROVIDER_CONFIG_INVALID` when it is not JSON
 */
export function parseModelsJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AgentfleetError('PROVIDER_CONFIG_INVALID', `${path} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

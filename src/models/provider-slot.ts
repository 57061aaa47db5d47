import { AbortedError, AgentfleetError } from '../errors/index.ts';
import type {
  CallOptions,
  GenerateRequest,
  GenerateResult,
  Provider,
  ProviderStats,
  StreamEvent,
} from '../llm/index.ts';

/** One built provider (vendor client and its policy) and the calls it has in flight. */
export class ProviderClient {
  readonly provider: Provider;
  readonly fingerprint: string;
  /** Calls started on this client and not yet settled (streams until they end or are abandoned). */
  inFlight = 0;
  #retired: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;

  constructor(provider: Provider, fingerprint: string) {
    this.provider = provider;
    this.fingerprint = fingerprint;
  }

  /** Whether the client was closed (or is closing). */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Takes the client out of service: it closes once its last call in flight settles, or after
   * `timeoutMs` anyway (aborting what is still in flight). `done` runs once it is closed.
   */
  retire(timeoutMs: number, done: () => void): void {
    this.#retired = done;
    if (this.inFlight === 0) {
      void this.close();
      return;
    }
    this.#timer = setTimeout(
      () => void this.abortAndClose('The provider was replaced by a models reload and its drain timed out.'),
      timeoutMs,
    );
    this.#timer.unref();
  }

  /** One call settled: the client closes when it is retired and this was its last. */
  settled(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.#retired !== undefined) void this.close();
  }

  /**
   * Closes now, failing the calls still in flight with `ABORTED` (`reason`) when the provider
   * can (`destroy`: its pool is dropped); otherwise as `close()`.
   */
  abortAndClose(reason: string): Promise<void> {
    return this.#close(new AbortedError(reason));
  }

  /** Closes the client now (sockets, policy); idempotent. Close failures are not reported: the client is out of service. */
  close(): Promise<void> {
    return this.#close(undefined);
  }

  #close(force: Error | undefined): Promise<void> {
    this.#closed ??= (async () => {
      clearTimeout(this.#timer);
      const { provider } = this;
      try {
        await (force === undefined || provider.destroy === undefined
          ? provider.close()
          : provider.destroy(force));
      } catch {
        // Nothing is left to serve with it; a pool that fails to close is dropped all the same.
      }
      this.#retired?.();
    })();
    return this.#closed;
  }
}

/** Why a slot has no client: its provider was removed by a reload, or the registry closed. */
export type VacantReason = 'removed' | 'closed';

/**
 * The stable provider a registry hands out for one name (what `resolve()` returns): each new
 * call goes to the slot's current client and stays on it until it settles, so a reload swaps
 * clients under callers that keep holding this facade. `close()` does nothing: the registry
 * owns its clients.
 */
export class ProviderSlot implements Provider {
  readonly name: string;
  #client: ProviderClient | undefined;
  #vacant: VacantReason = 'removed';

  constructor(name: string) {
    this.name = name;
  }

  /** The client new calls go to, if any. */
  get client(): ProviderClient | undefined {
    return this.#client;
  }

  /** Puts `client` (or none, for `reason`) in service; answers the client it replaces. */
  install(client: ProviderClient | undefined, reason: VacantReason = 'removed'): ProviderClient | undefined {
    const old = this.#client;
    this.#client = client;
    this.#vacant = reason;
    return old;
  }

  /** The current client's figures, when it has them. */
  get stats(): (() => ProviderStats) | undefined {
    const provider = this.#client?.provider;
    const stats = provider?.stats;
    return stats === undefined ? undefined : () => stats.call(provider);
  }

  async generate(request: GenerateRequest, options: CallOptions = {}): Promise<GenerateResult> {
    const client = this.#acquire();
    try {
      return await client.provider.generate(request, options);
    } finally {
      client.settled();
    }
  }

  async *stream(request: GenerateRequest, options: CallOptions = {}): AsyncGenerator<StreamEvent> {
    let client: ProviderClient;
    try {
      client = this.#acquire();
    } catch (error) {
      yield { type: 'error', error: error as Error };
      return;
    }
    try {
      yield* client.provider.stream(request, options);
    } finally {
      client.settled();
    }
  }

  async close(): Promise<void> {}

  #acquire(): ProviderClient {
    const client = this.#client;
    if (client === undefined) {
      throw this.#vacant === 'closed'
        ? new AgentfleetError(
            'MODELS_CLOSED',
            `The model registry is closed; provider ${this.name} takes no calls.`,
          )
        : new AgentfleetError(
            'PROVIDER_REMOVED',
            `Provider ${this.name} was removed by a models reload; configure it again or use another.`,
          );
    }
    client.inFlight++;
    return client;
  }
}

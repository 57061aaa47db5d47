import { AbortedError } from '../errors/index.ts';
import { DefinitionStoreUnavailableError } from './definition-store.ts';

interface Waiter {
  revision: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * How far a watch has applied a store's changes, and waiting for it to reach a revision (a
 * write's, or the store's head): bounded by a timeout and a signal, and released by `close()`.
 */
export class RevisionGate {
  readonly #timeoutMs: number;
  readonly #waiters = new Set<Waiter>();
  #applied = 0;
  #closed = false;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** The last revision applied. */
  get applied(): number {
    return this.#applied;
  }

  /** Records that every change up to `revision` is applied, releasing who waited for it. */
  advance(revision: number): void {
    if (revision <= this.#applied) return;
    this.#applied = revision;
    for (const waiter of this.#waiters) if (waiter.revision <= revision) waiter.resolve();
  }

  /**
   * Resolves once `revision` is applied.
   * @throws DefinitionStoreUnavailableError after the timeout or once closed; AbortedError on `signal`
   */
  async reach(revision: number, signal?: AbortSignal): Promise<void> {
    if (revision <= this.#applied) return;
    if (this.#closed)
      throw new DefinitionStoreUnavailableError('catch up: this node’s definitions are closed');
    if (signal?.aborted) throw new AbortedError();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let waiter: Waiter | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        waiter = { revision, resolve, reject };
        this.#waiters.add(waiter);
        timer = setTimeout(
          () =>
            reject(
              new DefinitionStoreUnavailableError(
                `catch up with revision ${revision} within ${this.#timeoutMs} ms (at ${this.#applied})`,
              ),
            ),
          this.#timeoutMs,
        );
        onAbort = () => reject(new AbortedError());
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      if (waiter !== undefined) this.#waiters.delete(waiter);
    }
  }

  /** Fails every wait. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters)
      waiter.reject(new DefinitionStoreUnavailableError('catch up: this node’s definitions are closed'));
  }
}

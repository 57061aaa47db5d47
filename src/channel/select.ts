import { AbortedError } from '../errors/index.ts';
import type { Channel } from './channel.ts';
import { ChannelClosedError } from './errors.ts';
import type { Operation, RecvResult } from './waiter.ts';

/** A select case that receives from `channel`. */
export interface RecvCase<T> {
  readonly recv: Channel<T>;
}

/** A select case that sends `value` on `channel`. */
export interface SendCase<T> {
  readonly send: Channel<T>;
  readonly value: T;
}

export type SelectCase<T> = RecvCase<T> | SendCase<T>;

/** Which case of a select completed. `index` is its position in the cases array. */
export type SelectResult<T> =
  | ({ kind: 'recv'; index: number } & RecvResult<T>)
  | { kind: 'send'; index: number }
  | { kind: 'default' }
  | { kind: 'timeout' };

export interface SelectOptions {
  /** Return `{ kind: 'default' }` at once when no case is ready (Go's `default:`). */
  default?: boolean;
  /** Milliseconds to wait for a case before returning `{ kind: 'timeout' }`. */
  timeout?: number;
  /** Abandons the select: it rejects with `ABORTED` and no case takes effect. */
  signal?: AbortSignal;
}

/**
 * Completes the first ready case without waiting, choosing uniformly at random among the
 * ready ones (so no case starves); `undefined` when none is ready. A send case on a closed
 * channel throws `CHANNEL_CLOSED`.
 */
export function trySelect<T>(cases: readonly SelectCase<T>[]): SelectResult<T> | undefined {
  let chosen = -1;
  let ready = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as SelectCase<T>;
    const isReady = 'recv' in c ? c.recv.canRecv() : c.send.canSend();
    // Reservoir sampling: the k-th ready case replaces the pick with probability 1/k.
    if (isReady && Math.random() * ++ready < 1) chosen = i;
  }
  if (chosen < 0) return undefined;
  const c = cases[chosen] as SelectCase<T>;
  if ('recv' in c) {
    const result = c.recv.tryRecv() as RecvResult<T>;
    return result.done
      ? { kind: 'recv', index: chosen, done: true, value: undefined }
      : { kind: 'recv', index: chosen, done: false, value: result.value };
  }
  c.send.trySend(c.value);
  return { kind: 'send', index: chosen };
}

/**
 * Waits for the first of several channel operations, like Go's `select`. Ready cases are
 * chosen uniformly at random; with `default` it never waits; with `timeout` it gives up after
 * that many ms. Exactly one case takes effect, or none on default, timeout or abort.
 */
export function select<T>(
  cases: readonly SelectCase<T>[],
  options: SelectOptions = {},
): Promise<SelectResult<T>> {
  try {
    const ready = trySelect(cases);
    if (ready !== undefined) return Promise.resolve(ready);
  } catch (error) {
    return Promise.reject(error);
  }
  if (options.default) return Promise.resolve({ kind: 'default' });
  if (options.signal?.aborted)
    return Promise.reject(new AbortedError('The select was aborted by its AbortSignal.'));
  return new SelectWait(cases, options).promise;
}

/** A select parked on every case's channel until one of them, the timer or the signal wins. */
class SelectWait<T> implements Operation {
  settled = false;
  readonly promise: Promise<SelectResult<T>>;
  private resolve!: (result: SelectResult<T>) => void;
  private reject!: (error: Error) => void;
  private readonly cases: readonly SelectCase<T>[];
  private readonly signal: AbortSignal | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(cases: readonly SelectCase<T>[], options: SelectOptions) {
    this.cases = cases;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i] as SelectCase<T>;
      if ('recv' in c) c.recv.waitRecv(this, i);
      else c.send.waitSend(this, i, c.value);
    }
    if (options.timeout !== undefined) {
      this.timer = setTimeout(() => this.finish(-1, { kind: 'timeout' }), Math.max(0, options.timeout));
    }
    this.signal = options.signal;
    this.signal?.addEventListener('abort', this, { once: true });
  }

  received(index: number, result: RecvResult<unknown>): void {
    const r = result as RecvResult<T>;
    this.finish(
      index,
      r.done
        ? { kind: 'recv', index, done: true, value: undefined }
        : { kind: 'recv', index, done: false, value: r.value },
    );
  }

  sent(index: number): void {
    this.finish(index, { kind: 'send', index });
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.cleanup(-1);
    this.reject(error instanceof ChannelClosedError ? error : new ChannelClosedError());
  }

  /** Abort listener. */
  handleEvent(): void {
    if (this.settled) return;
    this.cleanup(-1);
    this.reject(new AbortedError('The select was aborted by its AbortSignal.'));
  }

  private finish(winner: number, result: SelectResult<T>): void {
    if (this.settled) return;
    this.cleanup(winner);
    this.resolve(result);
  }

  /** Marks the select settled and tells every other case's channel its waiter is stale. */
  private cleanup(winner: number): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
    for (let i = 0; i < this.cases.length; i++) {
      if (i === winner) continue;
      const c = this.cases[i] as SelectCase<T>;
      if ('recv' in c) c.recv.forgetStale(false);
      else c.send.forgetStale(true);
    }
  }
}

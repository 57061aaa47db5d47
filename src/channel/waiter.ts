import { AbortedError } from '../errors/index.ts';

/** The `{ done: true }` result every receiver gets once a closed channel is drained. */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** What a receive yields: a value, or `DONE` when the channel is closed and drained. */
export type RecvResult<T> = IteratorYieldResult<T> | IteratorReturnResult<undefined>;

/**
 * Something that waits on channels and is woken once: a plain send/recv, or a select that
 * waits on several channels at once. The first `win` settles it; later waiters of the
 * same operation are stale and the channels skip them.
 */
export interface Operation {
  settled: boolean;
  /** A receive case got a result (`index` is the case). */
  received(index: number, result: RecvResult<unknown>): void;
  /** A send case handed its value over. */
  sent(index: number): void;
  /** A waiting send found the channel closed. */
  fail(error: Error): void;
}

/** One party parked on one channel's send or receive queue. */
export class Waiter<T> {
  readonly op: Operation;
  readonly index: number;
  /** The value a sender is offering. */
  readonly value: T | undefined;

  constructor(op: Operation, index: number, value: T | undefined) {
    this.op = op;
    this.index = index;
    this.value = value;
  }
}

/**
 * A plain (non-select) send or receive: its own promise, and an abort listener when the
 * caller gave a signal. One object per blocked call; calls that complete at once never make one.
 */
export class SingleWait<R> implements Operation {
  settled = false;
  readonly promise: Promise<R>;
  private resolve!: (value: R) => void;
  private reject!: (error: Error) => void;
  private signal: AbortSignal | undefined;
  /** Run when the caller aborts, after the operation is marked settled (the channel counts it stale). */
  onAbort: (() => void) | undefined;

  constructor(signal: AbortSignal | undefined) {
    this.promise = new Promise<R>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (signal !== undefined) {
      this.signal = signal;
      signal.addEventListener('abort', this, { once: true });
    }
  }

  /** Abort listener (an object listener, so no closure per wait). */
  handleEvent(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal = undefined;
    this.onAbort?.();
    this.reject(new AbortedError('The channel wait was aborted by its AbortSignal.'));
  }

  received(_index: number, result: RecvResult<unknown>): void {
    this.finish();
    this.resolve(result as R);
  }

  sent(): void {
    this.finish();
    this.resolve(undefined as R);
  }

  fail(error: Error): void {
    this.finish();
    this.reject(error);
  }

  private finish(): void {
    this.settled = true;
    if (this.signal !== undefined) {
      this.signal.removeEventListener('abort', this);
      this.signal = undefined;
    }
  }
}

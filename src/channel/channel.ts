import Denque from 'denque';
import { AbortedError, InvalidOptionsError } from '../errors/index.ts';
import { ChannelClosedError } from './errors.ts';
import { Ring } from './ring.ts';
import { DONE, type Operation, type RecvResult, SingleWait, Waiter } from './waiter.ts';

/** Returned by a send that completed at once, so a synchronous send allocates no promise. */
const SENT: Promise<void> = Promise.resolve();

/** Options of a single send or receive wait. */
export interface WaitOptions {
  /** Abandons the wait; the call rejects with `ABORTED` and nothing is sent or taken. */
  signal?: AbortSignal;
}

/** Stale waiters (aborted, or a select that completed elsewhere) tolerated before a queue is compacted. */
const COMPACT_AFTER = 64;

/**
 * A Go-style channel: capacity 0 is a rendezvous (a send completes only when a receiver
 * takes the value), capacity N buffers up to N values. `send` waits when full, `recv` waits
 * when empty; `trySend` / `tryRecv` never wait. `close()` ends it: waiting receivers get
 * `{ done: true }`, waiting senders reject with `CHANNEL_CLOSED`, and values already
 * buffered are still delivered. Values are handed over in FIFO order, each exactly once.
 */
export class Channel<T> implements AsyncIterable<T> {
  /** How many values the channel holds without a receiver (0 = rendezvous). */
  readonly capacity: number;
  readonly #buffer: Ring<T>;
  readonly #receivers = new Denque<Waiter<T>>();
  readonly #senders = new Denque<Waiter<T>>();
  #closed = false;
  #staleReceivers = 0;
  #staleSenders = 0;

  /** @param capacity buffered values, an integer ≥ 0 (default 0: rendezvous). */
  constructor(capacity = 0) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new InvalidOptionsError(`Channel capacity must be an integer >= 0, got ${String(capacity)}.`);
    }
    this.capacity = capacity;
    this.#buffer = new Ring<T>(capacity);
  }

  /** Values buffered now (senders still waiting are not counted). */
  get length(): number {
    return this.#buffer.length;
  }

  /** True once `close()` was called (buffered values may still be received). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends without waiting. Returns false when the value would have to wait (buffer full, or
   * no receiver waiting on a rendezvous channel). Throws `CHANNEL_CLOSED` on a closed channel.
   */
  trySend(value: T): boolean {
    if (this.#closed) throw new ChannelClosedError();
    const receiver = this.#takeReceiver();
    if (receiver !== undefined) {
      receiver.op.received(receiver.index, { done: false, value });
      return true;
    }
    if (this.#buffer.length < this.capacity) {
      this.#buffer.push(value);
      return true;
    }
    return false;
  }

  /**
   * Sends, waiting while the channel is full (backpressure). Rejects with `CHANNEL_CLOSED` if
   * the channel is or becomes closed before the value is taken, `ABORTED` if the signal fires.
   */
  send(value: T, options?: WaitOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new ChannelClosedError());
    if (this.trySend(value)) return SENT;
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const wait = new SingleWait<void>(signal);
    if (signal !== undefined) wait.onAbort = () => this.forgetStale(true);
    this.#senders.push(new Waiter(wait, 0, value));
    return wait.promise;
  }

  /**
   * Receives without waiting: a value, `{ done: true }` when closed and drained, or
   * `undefined` when a receive would have to wait.
   */
  tryRecv(): RecvResult<T> | undefined {
    if (this.#buffer.length > 0) {
      const value = this.#buffer.shift() as T;
      const sender = this.#takeSender();
      if (sender !== undefined) {
        this.#buffer.push(sender.value as T);
        sender.op.sent(sender.index);
      }
      return { done: false, value };
    }
    const sender = this.#takeSender();
    if (sender !== undefined) {
      sender.op.sent(sender.index);
      return { done: false, value: sender.value as T };
    }
    return this.#closed ? DONE : undefined;
  }

  /** Receives, waiting while the channel is empty; `{ done: true }` once closed and drained. */
  recv(options?: WaitOptions): Promise<RecvResult<T>> {
    const ready = this.tryRecv();
    if (ready !== undefined) return Promise.resolve(ready);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const wait = new SingleWait<RecvResult<T>>(signal);
    if (signal !== undefined) wait.onAbort = () => this.forgetStale(false);
    this.#receivers.push(new Waiter<T>(wait, 0, undefined));
    return wait.promise;
  }

  /**
   * Closes the channel; idempotent. Waiting receivers get `{ done: true }`, waiting senders
   * reject with `CHANNEL_CLOSED`; buffered values stay receivable.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let r = this.#takeReceiver(); r !== undefined; r = this.#takeReceiver())
      r.op.received(r.index, DONE);
    for (let s = this.#takeSender(); s !== undefined; s = this.#takeSender())
      s.op.fail(new ChannelClosedError());
  }

  /** Iterates received values until the channel is closed and drained; `signal` abandons the wait. */
  values(options?: WaitOptions): AsyncIterableIterator<T> {
    return new ChannelIterator(this, options);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return new ChannelIterator(this, undefined);
  }

  // ---- used by select ------------------------------------------------------------------

  /** True when a receive would complete at once (a value, a waiting sender, or closed). */
  canRecv(): boolean {
    return this.#buffer.length > 0 || this.#peekSender() || this.#closed;
  }

  /** True when a send would complete at once, or throw because the channel is closed. */
  canSend(): boolean {
    return this.#closed || this.#peekReceiver() || this.#buffer.length < this.capacity;
  }

  /** Parks a select's receive case. */
  waitRecv(op: Operation, index: number): void {
    this.#receivers.push(new Waiter<T>(op, index, undefined));
  }

  /** Parks a select's send case. */
  waitSend(op: Operation, index: number, value: T): void {
    this.#senders.push(new Waiter(op, index, value));
  }

  /** Notes that a parked waiter's operation settled elsewhere; compacts the queue when many pile up. */
  forgetStale(sender: boolean): void {
    if (sender) {
      if (++this.#staleSenders > COMPACT_AFTER) this.#staleSenders = compact(this.#senders);
    } else if (++this.#staleReceivers > COMPACT_AFTER) {
      this.#staleReceivers = compact(this.#receivers);
    }
  }

  #takeReceiver(): Waiter<T> | undefined {
    const queue = this.#receivers;
    while (queue.length > 0) {
      const waiter = queue.shift() as Waiter<T>;
      if (!waiter.op.settled) return waiter;
      if (this.#staleReceivers > 0) this.#staleReceivers--;
    }
    return undefined;
  }

  #takeSender(): Waiter<T> | undefined {
    const queue = this.#senders;
    while (queue.length > 0) {
      const waiter = queue.shift() as Waiter<T>;
      if (!waiter.op.settled) return waiter;
      if (this.#staleSenders > 0) this.#staleSenders--;
    }
    return undefined;
  }

  #peekReceiver(): boolean {
    const queue = this.#receivers;
    while (queue.length > 0) {
      if (!(queue.peekFront() as Waiter<T>).op.settled) return true;
      queue.shift();
      if (this.#staleReceivers > 0) this.#staleReceivers--;
    }
    return false;
  }

  #peekSender(): boolean {
    const queue = this.#senders;
    while (queue.length > 0) {
      if (!(queue.peekFront() as Waiter<T>).op.settled) return true;
      queue.shift();
      if (this.#staleSenders > 0) this.#staleSenders--;
    }
    return false;
  }
}

/** Drops settled waiters from a queue, keeping order; returns the new stale count (0). */
function compact<T>(queue: Denque<Waiter<T>>): number {
  const live = queue.toArray().filter((waiter) => !waiter.op.settled);
  queue.clear();
  for (const waiter of live) queue.push(waiter);
  return 0;
}

/**
 * `for await` over a channel. A hand-written iterator rather than an async generator: it
 * returns the receive's own promise, which measured about 2× the rate of an async generator (5.5M vs 2.9M msg/s, bench/channel).
 */
class ChannelIterator<T> implements AsyncIterableIterator<T> {
  readonly #channel: Channel<T>;
  readonly #options: WaitOptions | undefined;

  constructor(channel: Channel<T>, options: WaitOptions | undefined) {
    this.#channel = channel;
    this.#options = options;
  }

  next(): Promise<IteratorResult<T>> {
    return this.#channel.recv(this.#options) as Promise<IteratorResult<T>>;
  }

  /** Leaving the loop early does not close the channel: other receivers may still use it. */
  return(): Promise<IteratorResult<T>> {
    return Promise.resolve(DONE as IteratorResult<T>);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * A fixed-size FIFO ring for a channel's buffer. Hand-written rather than Denque because a
 * channel's bound is known up front: no growth checks, no mask recomputation, and slots are
 * cleared on take so values are not kept alive (measured in bench/channel.bench.ts).
 */
export class Ring<T> {
  readonly #slots: Array<T | undefined>;
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#slots = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.#size;
  }

  /** Appends; the caller checks `length < capacity` first. */
  push(value: T): void {
    const slots = this.#slots;
    let tail = this.#head + this.#size;
    if (tail >= slots.length) tail -= slots.length;
    slots[tail] = value;
    this.#size++;
  }

  /** Removes the oldest value; the caller checks `length > 0` first. */
  shift(): T {
    const slots = this.#slots;
    const head = this.#head;
    const value = slots[head] as T;
    slots[head] = undefined;
    this.#head = head + 1 === slots.length ? 0 : head + 1;
    this.#size--;
    return value;
  }
}

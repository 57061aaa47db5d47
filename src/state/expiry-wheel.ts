import { z } from 'zod';
import { parseOptions } from '../errors/index.ts';

/**
 * Something with a deadline in an `ExpiryWheel`. The wheel links entries into its slots
 * through these fields (an intrusive list), so scheduling allocates nothing and moving an
 * entry is O(1). Extend it (the state store's per-agent record does) or create it as is.
 */
export class ExpiryEntry {
  /** When it expires, ms on the wheel's clock; `Infinity` while not scheduled. */
  deadline = Number.POSITIVE_INFINITY;
  /** @internal slot index, -1 while not scheduled. */
  slot = -1;
  /** @internal */
  prev: ExpiryEntry | undefined = undefined;
  /** @internal */
  next: ExpiryEntry | undefined = undefined;
}

/** Options of `new ExpiryWheel`. */
export interface ExpiryWheelOptions {
  /** Width of a slot, ms. Default 1000. */
  tickMs?: number;
  /** Slots, a power of two; one revolution is `slots × tickMs`. Default 4096 (68 min at 1 s). */
  slots?: number;
  /** Most entries one `advance` returns; the rest come out on the next. Default 10,000. */
  maxPerAdvance?: number;
  /** Time the wheel starts at, ms (the caller's clock). Default 0. */
  now?: number;
}

const optionsSchema = z.object({
  tickMs: z.number().int().min(1).max(3_600_000).optional(),
  slots: z
    .number()
    .int()
    .min(1)
    .max(1 << 24)
    .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
    .optional(),
  maxPerAdvance: z.number().int().min(1).max(100_000_000).optional(),
  now: z.number().finite().optional(),
});

/**
 * A hashed timing wheel (Varghese & Lauck) of deadlines: one doubly linked list per slot of
 * `tickMs`. Nothing here owns a timer — the caller advances it (the state store from one shared
 * interval), so a million keys cost a million list nodes, not a million timers.
 *
 * `schedule` and `cancel` are O(1) and unlink the entry, so a rescheduled entry never fires at
 * its old deadline. `advance(now)` returns exactly the entries with `deadline <= now` (never one
 * early), at most `maxPerAdvance` of them; advanced at least once per revolution, they come out
 * in order of their deadline's tick, and in scheduling order within a tick.
 */
export class ExpiryWheel<E extends ExpiryEntry = ExpiryEntry> {
  readonly tickMs: number;
  readonly maxPerAdvance: number;
  readonly #mask: number;
  readonly #heads: Array<E | undefined>;
  readonly #tails: Array<E | undefined>;
  /** The first tick not yet fully swept. */
  #cursor: number;
  #size = 0;
  #behind = false;

  constructor(options?: ExpiryWheelOptions) {
    const o = parseOptions('ExpiryWheel', optionsSchema, options);
    this.tickMs = o.tickMs ?? 1000;
    this.maxPerAdvance = o.maxPerAdvance ?? 10_000;
    const slots = o.slots ?? 4096;
    this.#mask = slots - 1;
    this.#heads = new Array<E | undefined>(slots).fill(undefined);
    this.#tails = new Array<E | undefined>(slots).fill(undefined);
    this.#cursor = Math.floor((o.now ?? 0) / this.tickMs);
  }

  /** Entries scheduled. */
  get size(): number {
    return this.#size;
  }

  /** True when the last `advance` stopped at `maxPerAdvance` (more may be due already). */
  get behind(): boolean {
    return this.#behind;
  }

  /** Schedules `entry` at `deadline` (ms), moving it if it was scheduled. O(1). */
  schedule(entry: E, deadline: number): void {
    if (entry.slot !== -1) this.#unlink(entry);
    entry.deadline = deadline;
    const tick = Math.max(Math.floor(deadline / this.tickMs), this.#cursor);
    const slot = tick & this.#mask;
    entry.slot = slot;
    const tail = this.#tails[slot];
    entry.prev = tail;
    entry.next = undefined;
    if (tail === undefined) this.#heads[slot] = entry;
    else tail.next = entry;
    this.#tails[slot] = entry;
    this.#size++;
  }

  /** Unschedules `entry`; false if it was not scheduled. O(1). */
  cancel(entry: E): boolean {
    if (entry.slot === -1) return false;
    this.#unlink(entry);
    entry.deadline = Number.POSITIVE_INFINITY;
    return true;
  }

  /**
   * Removes and returns entries with `deadline <= now`, at most `limit` (default
   * `maxPerAdvance`); see `behind`. Work is the expired entries plus those sharing their slots.
   */
  advance(now: number, limit: number = this.maxPerAdvance): E[] {
    const expired: E[] = [];
    const heads = this.#heads;
    const mask = this.#mask;
    const from = this.#cursor;
    const to = Math.max(Math.floor(now / this.tickMs), from);
    // A jump of more than a revolution sweeps every slot once.
    const last = Math.min(to, from + mask);
    for (let tick = from; tick <= last; tick++) {
      let entry = heads[tick & mask];
      while (entry !== undefined) {
        const next = entry.next as E | undefined;
        if (entry.deadline <= now) {
          this.#unlink(entry);
          expired.push(entry);
          if (expired.length >= limit) {
            this.#cursor = tick;
            this.#behind = true;
            return expired;
          }
        }
        entry = next;
      }
    }
    this.#cursor = to;
    this.#behind = false;
    return expired;
  }

  /** Unschedules everything. */
  clear(): void {
    for (let slot = 0; slot <= this.#mask; slot++) {
      for (let entry = this.#heads[slot]; entry !== undefined; ) {
        const next = entry.next as E | undefined;
        entry.prev = entry.next = undefined;
        entry.slot = -1;
        entry.deadline = Number.POSITIVE_INFINITY;
        entry = next;
      }
      this.#heads[slot] = this.#tails[slot] = undefined;
    }
    this.#size = 0;
  }

  #unlink(entry: E): void {
    const { prev, next, slot } = entry;
    if (prev === undefined) this.#heads[slot] = next as E | undefined;
    else prev.next = next;
    if (next === undefined) this.#tails[slot] = prev as E | undefined;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
    entry.slot = -1;
    this.#size--;
  }
}

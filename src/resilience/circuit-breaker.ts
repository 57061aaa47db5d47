import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { AgentfleetError, parseOptions } from '../errors/index.ts';
import { CircuitOpenError } from './errors.ts';
import { CountWindow, type OutcomeWindow, TimeWindow } from './outcome-window.ts';

/** The breaker's states. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Options of `CircuitBreaker`, with the seed's (resilience4j's) semantics. Hand-written: no
 * well-kept Node library has a failure-rate threshold over a count- or time-based window with
 * a minimum number of calls, several half-open trial calls and slow calls counted as failures
 * together (cockatiel's SamplingBreaker is time-based only, half-opens with one call and has
 * no slow-call rule; opossum's rolling window has no minimum-calls rule).
 */
export interface CircuitBreakerOptions {
  /** Name for errors, events and metrics. */
  name: string;
  /** Open when this percentage (0–100) of the window's calls failed. Default 50. */
  failureRateThreshold?: number;
  /** Open when this percentage (0–100) of the window's calls were slow. Default 100 (off unless every call is slow). */
  slowCallRateThreshold?: number;
  /** A call slower than this, in ms, is slow. Default 60,000. */
  slowCallDurationThresholdMs?: number;
  /** `count`: the last `slidingWindowSize` calls; `time`: the last `slidingWindowSize` seconds. Default `count`. */
  slidingWindowType?: 'count' | 'time';
  /** Calls (count window) or seconds (time window). Default 100. */
  slidingWindowSize?: number;
  /** Rates are judged only once the window holds this many calls. Default 10. */
  minimumNumberOfCalls?: number;
  /** How long the circuit stays open before trial calls, in ms. Default 60,000. */
  waitDurationInOpenStateMs?: number;
  /** Trial calls let through when half-open; their rates decide whether it closes. Default 10. */
  permittedNumberOfCallsInHalfOpenState?: number;
  /** Which errors count as failures. Default: all but aborts and rate-limit refusals. */
  isFailure?: (error: unknown) => boolean;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

export const circuitBreakerSchema = z.object({
  name: z.string().min(1).max(200),
  failureRateThreshold: z.number().gt(0).max(100).default(50),
  slowCallRateThreshold: z.number().gt(0).max(100).default(100),
  slowCallDurationThresholdMs: z.number().int().min(1).default(60_000),
  slidingWindowType: z.enum(['count', 'time']).default('count'),
  slidingWindowSize: z.number().int().min(1).max(100_000).default(100),
  minimumNumberOfCalls: z.number().int().min(1).max(1_000_000).default(10),
  waitDurationInOpenStateMs: z.number().int().min(1).max(86_400_000).default(60_000),
  permittedNumberOfCallsInHalfOpenState: z.number().int().min(1).max(100_000).default(10),
});

/** A state change, as an event and for metrics. */
export interface CircuitStateChange {
  name: string;
  from: CircuitState;
  to: CircuitState;
  at: number;
  /** Failure and slow-call rates (percent) that decided it, when rates did. */
  failureRate?: number;
  slowCallRate?: number;
}

const NOT_COUNTED = new Set(['ABORTED', 'RATE_LIMITED', 'CIRCUIT_OPEN']);
const defaultIsFailure = (error: unknown) =>
  !(AgentfleetError.isInstance(error) && NOT_COUNTED.has(error.code));

/**
 * A failure-rate circuit breaker: closed → open when the window's failure (or slow-call) rate
 * reaches its threshold; open → half-open after the wait; half-open → closed or open again by
 * the rates of its trial calls. Refusals cost no call. Use `execute`, or `acquire` / `success`
 * / `failure` around a call you make yourself (no closure per call).
 */
export class CircuitBreaker {
  readonly name: string;
  readonly events = new EventEmitter<{ stateChange: [CircuitStateChange] }>();
  readonly #o: z.output<typeof circuitBreakerSchema>;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #now: () => number;
  readonly #window: OutcomeWindow;
  #state: CircuitState = 'closed';
  #openedAt = 0;
  #trialsStarted = 0;
  #trialCalls = 0;
  #trialFailures = 0;
  #trialSlow = 0;
  #rejected = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#o = parseOptions('circuit breaker', circuitBreakerSchema, {
      ...options,
      isFailure: undefined,
      now: undefined,
    });
    this.name = this.#o.name;
    this.#isFailure = options.isFailure ?? defaultIsFailure;
    this.#now = options.now ?? Date.now;
    this.#window =
      this.#o.slidingWindowType === 'count'
        ? new CountWindow(this.#o.slidingWindowSize)
        : new TimeWindow(this.#o.slidingWindowSize);
  }

  /** The state now (an open circuit whose wait is over reads as half-open). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#o.waitDurationInOpenStateMs) {
      this.#transition('half-open');
    }
    return this.#state;
  }

  /** Calls refused while open (or beyond the half-open trials). */
  get rejected(): number {
    return this.#rejected;
  }

  /**
   * Asks to make a call. Returns its start time (pass it to `success` / `failure`).
   * @throws CircuitOpenError when open, or half-open with every trial call taken.
   */
  acquire(): number {
    const now = this.#now();
    const state = this.#state === 'closed' ? 'closed' : this.state;
    if (state === 'closed') return now;
    if (state === 'half-open' && this.#trialsStarted < this.#o.permittedNumberOfCallsInHalfOpenState) {
      this.#trialsStarted++;
      return now;
    }
    this.#rejected++;
    const left = state === 'open' ? this.#o.waitDurationInOpenStateMs - (now - this.#openedAt) : 1;
    throw new CircuitOpenError(this.name, Math.max(1, left));
  }

  /** Records a call that succeeded (slow if it took longer than the threshold). */
  success(startedAt: number): void {
    this.#record(false, this.#now() - startedAt >= this.#o.slowCallDurationThresholdMs);
  }

  /** Records a call that failed; errors `isFailure` rejects are recorded as successes. */
  failure(startedAt: number, error?: unknown): void {
    const slow = this.#now() - startedAt >= this.#o.slowCallDurationThresholdMs;
    this.#record(error === undefined || this.#isFailure(error), slow);
  }

  /** Runs `fn` through the breaker. @throws CircuitOpenError without calling `fn` when open. */
  async execute<T>(fn: () => Promise<T> | T): Promise<T> {
    const started = this.acquire();
    try {
      const value = await fn();
      this.success(started);
      return value;
    } catch (error) {
      this.failure(started, error);
      throw error;
    }
  }

  #record(failed: boolean, slow: boolean): void {
    if (this.#state === 'closed') {
      const now = this.#now();
      this.#window.record(failed, slow, now);
      const t = this.#window.totals(now);
      if (t.calls < this.#o.minimumNumberOfCalls) return;
      const failureRate = (t.failures / t.calls) * 100;
      const slowCallRate = (t.slow / t.calls) * 100;
      if (failureRate >= this.#o.failureRateThreshold || slowCallRate >= this.#o.slowCallRateThreshold) {
        this.#open(failureRate, slowCallRate);
      }
      return;
    }
    if (this.#state !== 'half-open') return; // a call that started before the circuit opened
    this.#trialCalls++;
    if (failed) this.#trialFailures++;
    if (slow) this.#trialSlow++;
    if (this.#trialCalls < this.#o.permittedNumberOfCallsInHalfOpenState) return;
    const failureRate = (this.#trialFailures / this.#trialCalls) * 100;
    const slowCallRate = (this.#trialSlow / this.#trialCalls) * 100;
    if (failureRate >= this.#o.failureRateThreshold || slowCallRate >= this.#o.slowCallRateThreshold) {
      this.#open(failureRate, slowCallRate);
    } else {
      this.#window.reset();
      this.#transition('closed', failureRate, slowCallRate);
    }
  }

  #open(failureRate: number, slowCallRate: number): void {
    this.#openedAt = this.#now();
    this.#transition('open', failureRate, slowCallRate);
  }

  #transition(to: CircuitState, failureRate?: number, slowCallRate?: number): void {
    const from = this.#state;
    this.#state = to;
    this.#trialsStarted = 0;
    this.#trialCalls = 0;
    this.#trialFailures = 0;
    this.#trialSlow = 0;
    if (this.events.listenerCount('stateChange') > 0) {
      const event: CircuitStateChange = { name: this.name, from, to, at: this.#now() };
      if (failureRate !== undefined) event.failureRate = Math.round(failureRate * 10) / 10;
      if (slowCallRate !== undefined) event.slowCallRate = Math.round(slowCallRate * 10) / 10;
      this.events.emit('stateChange', event);
    }
  }
}

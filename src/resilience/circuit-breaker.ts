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
  /**
   * A trial call still running this long (ms) after the last trial was let through counts as
   * a failure, so a hung trial cannot hold the circuit half-open. Default `slowCallDurationThresholdMs`.
   */
  halfOpenTrialTimeoutMs?: number;
  /**
   * Errors that count as neither success nor failure: they say nothing about the callee's
   * health, and a trial that ends with one frees its slot. Default: aborts (`ABORTED`, an
   * `AbortError`) and refusals by another limit (`RATE_LIMITED`, `CIRCUIT_OPEN`).
   */
  isIgnored?: (error: unknown) => boolean;
  /** Which of the other errors count as failures (the rest count as successes). Default: all. */
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
  halfOpenTrialTimeoutMs: z.number().int().min(1).max(86_400_000).optional(),
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
const defaultIsIgnored = (error: unknown) =>
  (AgentfleetError.isInstance(error) && NOT_COUNTED.has(error.code)) ||
  (error as { name?: unknown } | null)?.name === 'AbortError';
const always = () => true;

/**
 * A failure-rate circuit breaker: closed → open when the window's failure (or slow-call) rate
 * reaches its threshold; open → half-open after the wait; half-open → closed or open again by
 * the rates of its trial calls. Refusals cost no call. Use `execute`, or `acquire` / `success`
 * / `failure` around a call you make yourself (no closure per call).
 *
 * A call counts only in the state it was admitted in: one admitted while closed that ends
 * after the circuit opened and half-opened is not a trial. The token `acquire` returns is the
 * call's start on a clock that never goes back, and every state begins strictly after the
 * start of any call of the state before (the open wait is at least 1 ms), so the start alone
 * tells which state a call belongs to.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly events = new EventEmitter<{ stateChange: [CircuitStateChange] }>();
  readonly #o: z.output<typeof circuitBreakerSchema>;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #isIgnored: (error: unknown) => boolean;
  readonly #now: () => number;
  readonly #window: OutcomeWindow;
  readonly #trialTimeoutMs: number;
  #state: CircuitState = 'closed';
  /** When the current state began; calls that started earlier belong to an older state. */
  #since = Number.NEGATIVE_INFINITY;
  /** The latest reading of the clock (readings never go back). */
  #last = Number.NEGATIVE_INFINITY;
  #lastTrialAt = 0;
  #trialsStarted = 0;
  #trialCalls = 0;
  #trialFailures = 0;
  #trialSlow = 0;
  #rejected = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#o = parseOptions('circuit breaker', circuitBreakerSchema, {
      ...options,
      isFailure: undefined,
      isIgnored: undefined,
      now: undefined,
    });
    this.name = this.#o.name;
    this.#isFailure = options.isFailure ?? always;
    this.#isIgnored = options.isIgnored ?? defaultIsIgnored;
    this.#now = options.now ?? Date.now;
    this.#trialTimeoutMs = this.#o.halfOpenTrialTimeoutMs ?? this.#o.slowCallDurationThresholdMs;
    this.#window =
      this.#o.slidingWindowType === 'count'
        ? new CountWindow(this.#o.slidingWindowSize)
        : new TimeWindow(this.#o.slidingWindowSize);
  }

  /**
   * The state now: an open circuit whose wait is over reads as half-open; a half-open one
   * whose trials are all taken and overdue counts them as failures (and so usually reopens).
   */
  get state(): CircuitState {
    return this.#refresh(this.#clock());
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
    const now = this.#clock();
    const state = this.#state === 'closed' ? 'closed' : this.#refresh(now);
    if (state === 'closed') return now;
    if (state === 'half-open' && this.#trialsStarted < this.#o.permittedNumberOfCallsInHalfOpenState) {
      this.#trialsStarted++;
      this.#lastTrialAt = now;
      return now;
    }
    this.#rejected++;
    const left =
      state === 'open'
        ? this.#o.waitDurationInOpenStateMs - (now - this.#since)
        : this.#lastTrialAt + this.#trialTimeoutMs - now;
    throw new CircuitOpenError(this.name, Math.max(1, Math.ceil(left)));
  }

  /** Records a call that succeeded (slow if it took longer than the threshold). */
  success(startedAt: number): void {
    const now = this.#clock();
    this.#record(startedAt, now, false, now - startedAt >= this.#o.slowCallDurationThresholdMs);
  }

  /**
   * Records a call that failed. Errors `isIgnored` accepts count as neither success nor
   * failure (a trial's slot is freed); errors `isFailure` rejects count as successes.
   */
  failure(startedAt: number, error?: unknown): void {
    const now = this.#clock();
    if (error !== undefined && this.#isIgnored(error)) {
      this.#refresh(now);
      if (this.#state === 'half-open' && startedAt >= this.#since) this.#trialsStarted--;
      return;
    }
    const slow = now - startedAt >= this.#o.slowCallDurationThresholdMs;
    this.#record(startedAt, now, error === undefined || this.#isFailure(error), slow);
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

  /** The injected clock, never going back (a call's start must not precede its state's). */
  #clock(): number {
    const now = this.#now();
    if (now > this.#last) this.#last = now;
    return this.#last;
  }

  /** Applies the transitions that time alone makes: open → half-open, overdue trials → judged. */
  #refresh(now: number): CircuitState {
    if (this.#state === 'open' && now - this.#since >= this.#o.waitDurationInOpenStateMs) {
      this.#transition('half-open', now);
    } else if (
      this.#state === 'half-open' &&
      this.#trialsStarted === this.#o.permittedNumberOfCallsInHalfOpenState &&
      this.#trialsStarted > this.#trialCalls &&
      now - this.#lastTrialAt >= this.#trialTimeoutMs
    ) {
      // Every trial still running started at or before the last one, so all are overdue.
      const overdue = this.#trialsStarted - this.#trialCalls;
      this.#trialCalls += overdue;
      this.#trialFailures += overdue;
      if (this.#trialTimeoutMs >= this.#o.slowCallDurationThresholdMs) this.#trialSlow += overdue;
      this.#judgeTrials(now);
    }
    return this.#state;
  }

  #record(startedAt: number, now: number, failed: boolean, slow: boolean): void {
    this.#refresh(now);
    if (startedAt < this.#since) return; // a call of an earlier state (or the circuit is open)
    if (this.#state === 'closed') {
      this.#window.record(failed, slow, now);
      const t = this.#window.totals(now);
      if (t.calls < this.#o.minimumNumberOfCalls) return;
      const failureRate = (t.failures / t.calls) * 100;
      const slowCallRate = (t.slow / t.calls) * 100;
      if (failureRate >= this.#o.failureRateThreshold || slowCallRate >= this.#o.slowCallRateThreshold) {
        this.#transition('open', now, failureRate, slowCallRate);
      }
      return;
    }
    if (this.#state !== 'half-open') return;
    this.#trialCalls++;
    if (failed) this.#trialFailures++;
    if (slow) this.#trialSlow++;
    this.#judgeTrials(now);
  }

  /** Once every trial has ended (or is overdue), their rates close or reopen the circuit. */
  #judgeTrials(now: number): void {
    if (this.#trialCalls < this.#o.permittedNumberOfCallsInHalfOpenState) return;
    const failureRate = (this.#trialFailures / this.#trialCalls) * 100;
    const slowCallRate = (this.#trialSlow / this.#trialCalls) * 100;
    if (failureRate >= this.#o.failureRateThreshold || slowCallRate >= this.#o.slowCallRateThreshold) {
      this.#transition('open', now, failureRate, slowCallRate);
    } else {
      this.#window.reset();
      this.#transition('closed', now, failureRate, slowCallRate);
    }
  }

  #transition(to: CircuitState, now: number, failureRate?: number, slowCallRate?: number): void {
    const from = this.#state;
    this.#state = to;
    this.#since = now;
    this.#trialsStarted = 0;
    this.#trialCalls = 0;
    this.#trialFailures = 0;
    this.#trialSlow = 0;
    if (this.events.listenerCount('stateChange') > 0) {
      const event: CircuitStateChange = { name: this.name, from, to, at: now };
      if (failureRate !== undefined) event.failureRate = Math.round(failureRate * 10) / 10;
      if (slowCallRate !== undefined) event.slowCallRate = Math.round(slowCallRate * 10) / 10;
      this.events.emit('stateChange', event);
    }
  }
}

import { z } from 'zod';
import { AbortedError, AgentfleetError, parseOptions } from '../errors/index.ts';
import type { Actuator } from './actuator.ts';
import type { AutoscaleDecision, AutoscalePolicyStatus } from './autoscale-decision.ts';
import { type AutoscalePolicyInput, parseAutoscalePolicies } from './autoscale-policy.ts';
import { AutoscaleError } from './errors.ts';
import type { MetricSource } from './metric-source.ts';
import { PolicyRunner } from './policy-runner.ts';

const optionsSchema = z.strictObject({
  /** Between evaluation rounds, in ms (default 15 000, as the Kubernetes HPA). */
  tickMs: z.number().int().positive().default(15_000),
  /** Decisions kept per policy (default 100); repeats of the same hold fold into one entry. */
  historySize: z.number().int().positive().max(10_000).default(100),
  /** Every policy only records what it would do (default false). */
  dryRun: z.boolean().default(false),
});

export interface AutoscalerOptions {
  /** The policies, validated here (`AUTOSCALE_POLICY_INVALID` names the bad field). */
  policies: readonly AutoscalePolicyInput[];
  /** Metric sources by the name policies give in `source`. Not closed by the autoscaler. */
  sources: Readonly<Record<string, MetricSource>>;
  /** What policies resize, by the name they give in `actuator`. */
  actuators: Readonly<Record<string, Actuator>>;
  tickMs?: number;
  historySize?: number;
  dryRun?: boolean;
  /** Milliseconds since the epoch (default `Date.now`); tests pass a fake. */
  clock?: () => number;
  /**
   * Called with each new decision: every change (or would-be change, in dry-run mode) and
   * every hold whose outcome differs from the previous one (repeats are folded, not reported).
   * It must not throw (what it throws is ignored).
   */
  onDecision?: (decision: AutoscaleDecision) => void;
}

/**
 * Resizes actuators from metrics by policies: step rules held for a duration, or target
 * tracking; within min and max; with a cooldown after each change and a stabilisation window
 * before scaling down. Every decision is recorded (`status()`, `onDecision`). When a source is
 * unavailable the size stays, the status says why, and the next round that reads it recovers.
 * `start()` evaluates every `tickMs` (unref'd timer); `tick()` runs one round now.
 */
export class Autoscaler {
  readonly #runners: PolicyRunner[];
  readonly #tickMs: number;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #started = false;
  #closed = false;

  constructor(options: AutoscalerOptions) {
    const { policies: input, sources, actuators, clock, onDecision, ...rest } = options;
    const parsed = parseOptions('Autoscaler', optionsSchema, rest);
    const policies = parseAutoscalePolicies(input);
    const problems: string[] = [];
    policies.forEach((p, i) => {
      if (!Object.hasOwn(sources, p.source)) {
        problems.push(
          `policies.${i}.source: no source ${JSON.stringify(p.source)} (have ${Object.keys(sources).join(', ') || 'none'})`,
        );
      }
      if (!Object.hasOwn(actuators, p.actuator)) {
        problems.push(
          `policies.${i}.actuator: no actuator ${JSON.stringify(p.actuator)} (have ${Object.keys(actuators).join(', ') || 'none'})`,
        );
      }
    });
    if (problems.length > 0) {
      throw new AutoscaleError(
        'AUTOSCALE_POLICY_INVALID',
        `Invalid autoscaling policies: ${problems.join('; ')}`,
        {
          details: { problems },
        },
      );
    }
    this.#tickMs = parsed.tickMs;
    this.#runners = policies.map(
      (policy) =>
        new PolicyRunner({
          policy,
          source: sources[policy.source]!,
          actuator: actuators[policy.actuator]!,
          clock: clock ?? Date.now,
          dryRun: parsed.dryRun,
          historySize: parsed.historySize,
          onDecision: onDecision ?? (() => {}),
        }),
    );
  }

  /** Starts evaluating every `tickMs` (the first round after one interval). Idempotent. */
  start(): this {
    if (this.#closed) throw new AbortedError('The autoscaler is closed.');
    if (this.#started) return this;
    this.#started = true;
    this.#schedule();
    return this;
  }

  /** Stops the timer; a round in progress finishes. `start()` resumes. */
  stop(): void {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One evaluation round over every policy, in parallel; resolves when done. A round already
   * running is joined, not doubled. Never rejects for a policy's failure (it is in the status).
   */
  tick(): Promise<void> {
    if (this.#closed) return Promise.reject(new AbortedError('The autoscaler is closed.'));
    this.#round ??= this.#runRound().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async #runRound(): Promise<void> {
    const signal = this.#abort.signal;
    await Promise.all(
      this.#runners.map((runner) =>
        runner.evaluate(signal).catch((error: unknown) => {
          if (!(AgentfleetError.isInstance(error) && error.code === 'ABORTED') && !signal.aborted)
            throw error;
        }),
      ),
    );
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.tick()
        .catch(() => {})
        .finally(() => {
          if (this.#started && !this.#closed) this.#schedule();
        });
    }, this.#tickMs);
    this.#timer.unref();
  }

  /** Where each policy stands, with its recent decisions. */
  status(): AutoscalePolicyStatus[] {
    return this.#runners.map((runner) => runner.status());
  }

  /** Stops the timer, aborts a round in progress and waits for it. Idempotent; sources are the caller's to close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.stop();
    this.#closed = true;
    this.#abort.abort();
    await this.#round?.catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

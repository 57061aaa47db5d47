import { AgentfleetError, raceWithSignal } from '../errors/index.ts';
import type { Actuator } from './actuator.ts';
import type { AutoscaleDecision, AutoscalePolicyStatus, AutoscaleState } from './autoscale-decision.ts';
import { type AutoscalePolicy, holds, policyQueries, type ScaleRule } from './autoscale-policy.ts';
import { AutoscaleError, describeCause } from './errors.ts';
import type { MetricReading, MetricSource } from './metric-source.ts';
import { StabilisationWindow } from './stabilisation-window.ts';

/** The size the rules or the target want, and why (`holding`: a rule holds, not long enough yet). */
interface Wanted {
  desired: number;
  rule?: string;
  why: string;
  holding?: string;
}

/** What an evaluation settled on before it is recorded. */
interface Outcome {
  kind: AutoscaleDecision['kind'];
  state: AutoscaleState;
  to: number;
  desired: number;
  rule?: string;
  reason: string;
}

/**
 * The evaluation of one policy over time: the hold timers of its rules, the stabilisation
 * window, the cooldown and the bounded history. One `evaluate` at a time (the autoscaler ensures it).
 */
export class PolicyRunner {
  readonly policy: AutoscalePolicy;
  readonly #source: MetricSource;
  readonly #actuator: Actuator;
  readonly #clock: () => number;
  readonly #dryRun: boolean;
  readonly #historySize: number;
  readonly #onDecision: (decision: AutoscaleDecision) => void;
  readonly #queries: string[];
  /** When each rule's condition began to hold, unbroken. */
  readonly #since = new Map<string, number>();
  readonly #window: StabilisationWindow;
  #history: AutoscaleDecision[] = [];
  #current: number | undefined;
  #desired: number | undefined;
  #lastChangeAt: number | undefined;

  constructor(options: {
    policy: AutoscalePolicy;
    source: MetricSource;
    actuator: Actuator;
    clock: () => number;
    dryRun: boolean;
    historySize: number;
    onDecision: (decision: AutoscaleDecision) => void;
  }) {
    this.policy = options.policy;
    this.#source = options.source;
    this.#actuator = options.actuator;
    this.#clock = options.clock;
    this.#dryRun = options.dryRun || options.policy.dryRun;
    this.#historySize = options.historySize;
    this.#onDecision = options.onDecision;
    this.#queries = policyQueries(options.policy);
    this.#window = new StabilisationWindow(options.policy.scaleDownStabilizationMs);
  }

  status(): AutoscalePolicyStatus {
    const last = this.#history.at(-1);
    return {
      policy: this.policy.name,
      actuator: this.policy.actuator,
      source: this.policy.source,
      dryRun: this.#dryRun,
      current: this.#current,
      desired: this.#desired,
      state: last?.state ?? 'idle',
      reason: last?.reason ?? 'not evaluated yet',
      lastDecision: last === undefined ? undefined : { ...last },
      lastChangeAt: this.#lastChangeAt,
      history: this.#history.map((d) => ({ ...d })),
    };
  }

  /** One evaluation: read, decide, maybe resize, record. Rejects only with `ABORTED`. */
  async evaluate(signal: AbortSignal): Promise<AutoscaleDecision> {
    const now = this.#clock();
    let current: number;
    try {
      current = await raceWithSignal(Promise.resolve(this.#actuator.current()), signal);
      if (!Number.isInteger(current) || current < 0) throw new Error(`current() gave ${current}, not a size`);
    } catch (error) {
      if (signal.aborted) throw error;
      const size = this.#current ?? 0;
      return this.#record(
        now,
        size,
        {},
        this.#hold(size, 'actuator-failed', `actuator-failed: ${describeCause(error)}`),
      );
    }
    this.#current = current;
    let readings: MetricReading[];
    try {
      readings = await this.#source.read(this.#queries, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      const failure = new AutoscaleError('AUTOSCALE_SOURCE_UNAVAILABLE', describeCause(error), {
        cause: error,
      });
      readings = this.#queries.map((query) => ({ query, status: 'error', value: undefined, error: failure }));
    }
    const inputs: Record<string, number | null> = {};
    const values = new Map<string, number | undefined>();
    for (const r of readings) {
      inputs[r.query] = r.value ?? null;
      values.set(r.query, r.value);
    }
    const outcome = await this.#decide(now, current, values, readings, signal);
    return this.#record(now, current, inputs, outcome);
  }

  async #decide(
    now: number,
    current: number,
    values: Map<string, number | undefined>,
    readings: MetricReading[],
    signal: AbortSignal,
  ): Promise<Outcome> {
    const failed = readings.find((r) => r.status === 'error');
    if (failed !== undefined) {
      // Unknown figures break every hold: a condition must be seen holding, unbroken.
      this.#since.clear();
      const state =
        AgentfleetError.isInstance(failed.error) && failed.error.code === 'AUTOSCALE_QUERY_INVALID'
          ? 'query-invalid'
          : 'source-unavailable';
      return this.#hold(current, state, `${state}: ${failed.error?.message ?? 'unknown error'}`);
    }
    const wanted =
      this.policy.target === undefined
        ? this.#fromRules(now, current, values)
        : this.#fromTarget(current, values);
    if ('state' in wanted) return wanted;
    const desired = this.#window.stabilise(now, current, wanted.desired);
    this.#desired = desired;
    if (desired === current) {
      if (wanted.desired < current) {
        return {
          ...this.#hold(
            current,
            'stabilising',
            `stabilising: wants ${wanted.desired}, held at ${current} (the highest wanted in the last ${this.policy.scaleDownStabilizationMs} ms)`,
          ),
          desired: wanted.desired,
          ...(wanted.rule === undefined ? {} : { rule: wanted.rule }),
        };
      }
      return {
        ...this.#hold(
          current,
          wanted.holding === undefined ? 'ok' : 'holding',
          wanted.holding ?? `steady: ${wanted.why}`,
        ),
        desired: current,
      };
    }
    const rule = wanted.rule;
    const cooling = this.#lastChangeAt === undefined ? 0 : this.#lastChangeAt + this.policy.cooldownMs - now;
    if (cooling > 0) {
      return {
        ...this.#hold(
          current,
          'cooling',
          `cooling: wants ${current} → ${desired} (${rule}), ${cooling} ms of cooldown left`,
        ),
        desired,
        ...(rule === undefined ? {} : { rule }),
      };
    }
    if (this.#dryRun) {
      this.#changed(now, rule);
      return {
        kind: 'dry-run',
        state: 'dry-run',
        to: desired,
        desired,
        reason: `dry-run: would scale ${current} → ${desired} (${rule}: ${wanted.why})`,
        ...(rule === undefined ? {} : { rule }),
      };
    }
    try {
      await this.#actuator.set(desired, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      return {
        ...this.#hold(
          current,
          'actuator-failed',
          `actuator-failed: setting ${current} → ${desired}: ${describeCause(error)}`,
        ),
        desired,
        ...(rule === undefined ? {} : { rule }),
      };
    }
    this.#changed(now, rule);
    this.#current = desired;
    return {
      kind: 'scale',
      state: 'ok',
      to: desired,
      desired,
      reason: `scaled ${current} → ${desired} (${rule}: ${wanted.why})`,
      ...(rule === undefined ? {} : { rule }),
    };
  }

  /** Step rules: the size the firing rules want (the largest when several fire), or current. */
  #fromRules(now: number, current: number, values: Map<string, number | undefined>): Outcome | Wanted {
    let best: { desired: number; rule: ScaleRule } | undefined;
    let holding: string | undefined;
    for (const rule of this.policy.rules ?? []) {
      const all = rule.when.all?.every((c) => holds(c, values.get(c.metric))) ?? true;
      const any = rule.when.any?.some((c) => holds(c, values.get(c.metric))) ?? true;
      if (!(all && any)) {
        this.#since.delete(rule.name);
        continue;
      }
      const since = this.#since.get(rule.name) ?? now;
      this.#since.set(rule.name, since);
      if (now - since < rule.forMs) {
        holding ??= `holding: ${rule.name} has held ${now - since} of ${rule.forMs} ms`;
        continue;
      }
      const desired = this.#clamp(current + rule.action.change);
      if (best === undefined || desired > best.desired) best = { desired, rule };
    }
    if (best !== undefined) {
      return {
        desired: best.desired,
        rule: best.rule.name,
        why: `held for ${best.rule.forMs} ms, change ${best.rule.action.change > 0 ? '+' : ''}${best.rule.action.change}`,
      };
    }
    const clamped = this.#clamp(current);
    if (clamped !== current)
      return {
        desired: clamped,
        rule: 'bounds',
        why: `outside min ${this.policy.min} / max ${this.policy.max}`,
      };
    const missing = this.#queries.filter((q) => values.get(q) === undefined);
    if (holding === undefined && missing.length > 0) {
      this.#desired = current;
      return this.#hold(
        current,
        'no-data',
        `no-data: ${missing.map((q) => JSON.stringify(q)).join(', ')} returned nothing`,
      );
    }
    return { desired: current, why: 'no rule fires', ...(holding === undefined ? {} : { holding }) };
  }

  /** Target tracking: desired = ceil(current × value / target), clamped; from 0, ceil(value / target). */
  #fromTarget(current: number, values: Map<string, number | undefined>): Outcome | Wanted {
    const target = this.policy.target!;
    const value = values.get(target.metric);
    if (value === undefined) {
      this.#desired = current;
      return this.#hold(current, 'no-data', `no-data: ${JSON.stringify(target.metric)} returned nothing`);
    }
    const ratio = value / target.target;
    const why = `${target.metric} = ${value}, target ${target.target}`;
    if (current > 0 && Math.abs(ratio - 1) <= target.tolerance)
      return { desired: this.#clamp(current), rule: 'target', why: `${why}, within tolerance` };
    const raw = current === 0 ? Math.ceil(ratio) : Math.ceil(current * ratio);
    return { desired: this.#clamp(raw), rule: 'target', why };
  }

  #clamp(size: number): number {
    return Math.min(this.policy.max, Math.max(this.policy.min, size));
  }

  #changed(now: number, rule: string | undefined): void {
    this.#lastChangeAt = now;
    // The rule that fired must hold for its `forMs` again before it fires again.
    if (rule !== undefined && this.#since.has(rule)) this.#since.set(rule, now);
  }

  #hold(current: number, state: AutoscaleState, reason: string): Outcome {
    return { kind: 'hold', state, to: current, desired: this.#desired ?? current, reason };
  }

  /** Adds to the history (folding a repeat of the last outcome into it) and reports new outcomes. */
  #record(
    now: number,
    from: number,
    inputs: Record<string, number | null>,
    outcome: Outcome,
  ): AutoscaleDecision {
    const last = this.#history.at(-1);
    if (
      last !== undefined &&
      outcome.kind === 'hold' &&
      last.kind === 'hold' &&
      last.state === outcome.state &&
      last.from === from &&
      last.desired === outcome.desired &&
      last.rule === outcome.rule
    ) {
      last.repeats += 1;
      last.lastAt = now;
      last.inputs = inputs;
      last.reason = outcome.reason;
      return { ...last };
    }
    const decision: AutoscaleDecision = {
      policy: this.policy.name,
      actuator: this.policy.actuator,
      at: now,
      kind: outcome.kind,
      state: outcome.state,
      from,
      to: outcome.to,
      desired: outcome.desired,
      ...(outcome.rule === undefined ? {} : { rule: outcome.rule }),
      reason: outcome.reason,
      inputs,
      repeats: 1,
      lastAt: now,
    };
    this.#history.push(decision);
    if (this.#history.length > this.#historySize) this.#history.shift();
    try {
      this.#onDecision({ ...decision });
    } catch {
      // A failing observer must not stop autoscaling; it is the caller's to report.
    }
    return { ...decision };
  }
}

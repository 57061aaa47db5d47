import { createHash } from 'node:crypto';
import { z } from 'zod';
import { budgetChannel, currentTenantId } from '../context/index.ts';
import { parseOptions } from '../errors/index.ts';
import type { GenerateRequest, ToolSpec, Usage } from '../llm/index.ts';
import { type BudgetLedger, MemoryBudgetLedger, type Spend } from './budget-ledger.ts';
import {
  type Budget,
  type BudgetInput,
  type ModelPrice,
  type ModelPrices,
  modelPricesSchema,
} from './budget-schema.ts';
import { BudgetExceededError, type BudgetRefusal, type BudgetScope } from './errors.ts';

/** One model call as a gate sees it. */
export interface BudgetCall {
  agentId: string;
  /** `provider/model`: the key of its price. */
  model: string;
  request: GenerateRequest;
  /** The agent's own budget (validated, see `budgetSchema`), besides its tenant's. */
  budget?: Budget | undefined;
}

/** A call's reservation: settled with the usage the vendor reported, or released when the call failed. */
export interface BudgetReservation {
  /**
   * Replaces the estimate with what the call used, and answers what it cost in the prices'
   * currency (undefined when its model has no price, or on a second settle). Idempotent (only
   * the first settle or release counts).
   */
  settle(usage: Usage): number | undefined;
  /** Gives the reservation back (the call failed or was aborted before any usage). Idempotent. */
  release(): void;
}

/**
 * What the LLM loop asks before each model call (`LlmCognitionOptions.budgets`): a reservation,
 * or a `BudgetExceededError` thrown synchronously. Implement it to enforce budgets of your own.
 */
export interface BudgetGate {
  reserve(call: BudgetCall): BudgetReservation;
}

/** A tenant's spending in its current period, as `GET /v1/stats` shows it. */
export interface TenantSpend {
  periodSeconds: number;
  /** Start and end of the period, ms since the epoch. */
  periodStart: number;
  resetsAt: number;
  /** Spent (reconciled) in the period, over every node of a cluster. */
  tokens: number;
  cost: number;
  /** Reserved by this node's calls in flight. */
  reservedTokens: number;
  /** The tenant's budget, when it has one. */
  budget?: BudgetInput;
}

/** Options of `TokenBudgetGate`. */
export interface TokenBudgetGateOptions {
  /** Where spending is kept. Default: a `MemoryBudgetLedger` (this process). */
  ledger?: BudgetLedger;
  /** Prices by `provider/model`, per million tokens. A model without one costs 0 (tokens still count). */
  prices?: ModelPrices;
  /** A tenant's budget (e.g. its quotas' `budget`, validated there), or undefined for none. */
  tenantBudget?: (tenant: string) => BudgetInput | undefined;
  /** Output tokens reserved for a call without `maxTokens`. Default 1,024. */
  defaultOutputTokens?: number;
  /** Characters per token when estimating a request's input. Default 4. */
  charsPerToken?: number;
  /** Period over which a tenant without a budget has its spending counted (for its figures), seconds. Default 86,400. */
  statsPeriodSeconds?: number;
  /** The clock, ms since the epoch (tests inject one). Default `Date.now`. */
  now?: () => number;
}

const optionsSchema = z.strictObject({
  ledger: z.custom<BudgetLedger>((v) => typeof (v as BudgetLedger)?.spent === 'function').optional(),
  prices: modelPricesSchema.default({}),
  tenantBudget: z
    .custom<(tenant: string) => BudgetInput | undefined>((v) => typeof v === 'function')
    .optional(),
  defaultOutputTokens: z.number().int().min(0).max(10_000_000).default(1_024),
  charsPerToken: z.number().min(0.1).max(100).default(4),
  statsPeriodSeconds: z
    .number()
    .int()
    .min(1)
    .max(366 * 86_400)
    .default(86_400),
  now: z.custom<() => number>((v) => typeof v === 'function').optional(),
});

const FREE: ModelPrice = { inputPerMillion: 0, outputPerMillion: 0 };

/** One scope a reservation holds: its ledger key, the period's end and what was reserved. */
interface Hold {
  key: string;
  endsAt: number;
}

/**
 * The node's budget gate: per tenant (its quotas' `budget`) and per agent (its spec's or
 * cognition's `budget`), tokens and cost per fixed period. Before a call it reserves the
 * request's estimated size (input ≈ characters / `charsPerToken` of messages and tool schemas,
 * output = `maxTokens` or `defaultOutputTokens`) and refuses with `BUDGET_EXCEEDED` when spent +
 * reserved + estimate would pass a limit; after the call it replaces the estimate with the
 * usage the vendor reported (the larger of the two when the vendor reported none), or gives it
 * back when the call failed. Reservations are this process's; spending is the ledger's (shared
 * by a cluster with `CrdtBudgetLedger`).
 */
export class TokenBudgetGate implements BudgetGate {
  readonly #ledger: BudgetLedger;
  #prices: ModelPrices;
  readonly #tenantBudget: ((tenant: string) => BudgetInput | undefined) | undefined;
  readonly #defaultOutput: number;
  readonly #charsPerToken: number;
  readonly #statsPeriodMs: number;
  readonly #now: () => number;
  /** Reserved by calls in flight here, per ledger key. */
  readonly #reserved = new Map<string, Spend>();
  readonly #toolChars = new WeakMap<ToolSpec[], number>();

  /** @throws InvalidOptionsError naming any bad option (a bad price, say). */
  constructor(options: TokenBudgetGateOptions = {}) {
    const o = parseOptions('budget gate', optionsSchema, options);
    this.#now = o.now ?? Date.now;
    this.#ledger = o.ledger ?? new MemoryBudgetLedger({ now: this.#now });
    this.#prices = o.prices;
    this.#tenantBudget = o.tenantBudget;
    this.#defaultOutput = o.defaultOutputTokens;
    this.#charsPerToken = o.charsPerToken;
    this.#statsPeriodMs = o.statsPeriodSeconds * 1000;
  }

  /**
   * Replaces the prices (a models reload): calls reserved from now on are priced with them; a
   * reservation in flight settles at the price it was reserved with.
   * @throws InvalidOptionsError (`INVALID_OPTIONS`) naming a bad price; the old prices stay
   */
  setPrices(prices: ModelPrices): void {
    this.#prices = parseOptions('model prices', modelPricesSchema, prices);
  }

  /** The ledger spending is kept in. */
  get ledger(): BudgetLedger {
    return this.#ledger;
  }

  reserve(call: BudgetCall): BudgetReservation {
    const now = this.#now();
    const tenant = currentTenantId();
    const price = this.#prices[call.model] ?? FREE;
    const input = this.estimateInputTokens(call.request);
    const output = call.request.maxTokens ?? this.#defaultOutput;
    const estimate = { tokens: input + output, costMicros: costMicros(price, input, output) };
    const tenantBudget = tenant === undefined ? undefined : this.#tenantBudget?.(tenant);
    const holds: Hold[] = [];
    // The tenant's spending is always counted (its figures), in its budget's period or the stats one.
    const tenantPeriodMs = tenantBudget === undefined ? this.#statsPeriodMs : periodMsOf(tenantBudget);
    const tenantHold = this.#hold(`t.${tenant ?? '-'}.${tenantPeriodMs / 1000}`, tenantPeriodMs, now);
    if (tenantBudget !== undefined)
      this.#check(tenantHold, tenantBudget, estimate, 'tenant', tenant, call, now);
    holds.push(tenantHold);
    if (call.budget !== undefined) {
      const periodMs = periodMsOf(call.budget);
      const agentHold = this.#hold(
        `a.${tenant ?? '-'}.${agentPart(call.agentId)}.${periodMs / 1000}`,
        periodMs,
        now,
      );
      this.#check(agentHold, call.budget, estimate, 'agent', tenant, call, now);
      holds.push(agentHold);
    }
    for (const hold of holds) this.#move(hold.key, estimate, 1);
    return new Reservation(this, holds, estimate, input, price, tenant, call);
  }

  /** Input tokens a request is estimated to take: its messages' and tool schemas' characters / `charsPerToken`. */
  estimateInputTokens(request: GenerateRequest): number {
    let chars = 0;
    for (const message of request.messages) {
      chars += message.content.length;
      if (message.role === 'assistant' && message.toolCalls !== undefined)
        for (const c of message.toolCalls) chars += c.name.length + c.arguments.length;
    }
    const tools = request.tools;
    if (tools !== undefined) {
      let n = this.#toolChars.get(tools);
      if (n === undefined) {
        n = JSON.stringify(tools).length;
        this.#toolChars.set(tools, n);
      }
      chars += n;
    }
    return Math.ceil(chars / this.#charsPerToken);
  }

  /** The tenant's spending in its current period (over the cluster, with a shared ledger). */
  spendOf(tenant: string): TenantSpend {
    const now = this.#now();
    const budget = this.#tenantBudget?.(tenant);
    const periodMs = budget === undefined ? this.#statsPeriodMs : periodMsOf(budget);
    const hold = this.#hold(`t.${tenant}.${periodMs / 1000}`, periodMs, now);
    const spent = this.#ledger.spent(hold.key);
    return {
      periodSeconds: periodMs / 1000,
      periodStart: hold.endsAt - periodMs,
      resetsAt: hold.endsAt,
      tokens: spent.tokens,
      cost: spent.costMicros / 1e6,
      reservedTokens: this.#reserved.get(hold.key)?.tokens ?? 0,
      ...(budget === undefined ? {} : { budget }),
    };
  }

  /** Forgets the tenant's spending and reservations here (its deletion). */
  purgeTenant(tenant: string): void {
    this.#ledger.dropTenant(tenant);
    for (const key of this.#reserved.keys())
      if (key.startsWith(`t.${tenant}.`) || key.startsWith(`a.${tenant}.`)) this.#reserved.delete(key);
  }

  /** Closes the ledger. */
  async close(): Promise<void> {
    await this.#ledger.close();
  }

  /** Settles or releases a reservation (called by `Reservation`). */
  finish(holds: Hold[], estimate: Spend, actual: Spend | undefined): void {
    for (const hold of holds) {
      this.#move(hold.key, estimate, -1);
      if (actual !== undefined) this.#ledger.add(hold.key, hold.endsAt, actual.tokens, actual.costMicros);
    }
  }

  #hold(scope: string, periodMs: number, now: number): Hold {
    const index = Math.floor(now / periodMs);
    return { key: `${scope}.${index}`, endsAt: (index + 1) * periodMs };
  }

  #check(
    hold: Hold,
    budget: BudgetInput,
    estimate: Spend,
    scope: BudgetScope,
    tenant: string | undefined,
    call: BudgetCall,
    now: number,
  ): void {
    const spent = this.#ledger.spent(hold.key);
    const reserved = this.#reserved.get(hold.key);
    const tokens = spent.tokens + (reserved?.tokens ?? 0);
    const cost = spent.costMicros + (reserved?.costMicros ?? 0);
    let refusal: BudgetRefusal | undefined;
    const base = { scope, tenant, agentId: call.agentId, resetsAt: hold.endsAt };
    if (budget.tokensPerPeriod !== undefined && tokens + estimate.tokens > budget.tokensPerPeriod)
      refusal = {
        ...base,
        limit: 'tokens',
        max: budget.tokensPerPeriod,
        spent: tokens,
        estimate: estimate.tokens,
      };
    else if (budget.costPerPeriod !== undefined && cost + estimate.costMicros > budget.costPerPeriod * 1e6)
      refusal = {
        ...base,
        limit: 'cost',
        max: budget.costPerPeriod,
        spent: cost / 1e6,
        estimate: estimate.costMicros / 1e6,
      };
    if (refusal === undefined) return;
    if (budgetChannel.hasSubscribers)
      budgetChannel.publish({
        kind: 'refused',
        tenant,
        agentId: call.agentId,
        model: call.model,
        tokens: 0,
        costMicros: 0,
        scope,
        limit: refusal.limit,
      });
    throw new BudgetExceededError(refusal, now);
  }

  #move(key: string, spend: Spend, sign: 1 | -1): void {
    const held = this.#reserved.get(key);
    if (held === undefined) {
      if (sign > 0) this.#reserved.set(key, { tokens: spend.tokens, costMicros: spend.costMicros });
      return;
    }
    held.tokens += sign * spend.tokens;
    held.costMicros += sign * spend.costMicros;
    if (held.tokens <= 0 && held.costMicros <= 0) this.#reserved.delete(key);
  }
}

class Reservation implements BudgetReservation {
  readonly #gate: TokenBudgetGate;
  readonly #holds: Hold[];
  readonly #estimate: Spend;
  readonly #estimatedInput: number;
  readonly #price: ModelPrice;
  readonly #tenant: string | undefined;
  readonly #call: BudgetCall;
  #done = false;

  constructor(
    gate: TokenBudgetGate,
    holds: Hold[],
    estimate: Spend,
    estimatedInput: number,
    price: ModelPrice,
    tenant: string | undefined,
    call: BudgetCall,
  ) {
    this.#gate = gate;
    this.#holds = holds;
    this.#estimate = estimate;
    this.#estimatedInput = estimatedInput;
    this.#price = price;
    this.#tenant = tenant;
    this.#call = call;
  }

  settle(usage: Usage): number | undefined {
    if (this.#done) return undefined;
    this.#done = true;
    let input = usage.inputTokens;
    const output = usage.outputTokens;
    if (!usage.reported) {
      // No figures from the vendor: the larger of its estimate of the input and ours.
      input = Math.max(input, this.#estimatedInput);
    }
    const actual = { tokens: input + output, costMicros: costMicros(this.#price, input, output) };
    this.#gate.finish(this.#holds, this.#estimate, actual);
    if (budgetChannel.hasSubscribers)
      budgetChannel.publish({
        kind: 'spent',
        tenant: this.#tenant,
        agentId: this.#call.agentId,
        model: this.#call.model,
        tokens: actual.tokens,
        costMicros: actual.costMicros,
      });
    return this.#price === FREE ? undefined : actual.costMicros / 1_000_000;
  }

  release(): void {
    if (this.#done) return;
    this.#done = true;
    this.#gate.finish(this.#holds, this.#estimate, undefined);
  }
}

/** An agent id in a ledger key: as it is up to 32 characters, else `#` and 31 hex digits of its SHA-256 (names stay ≤ 128). */
function agentPart(agentId: string): string {
  return agentId.length <= 32
    ? agentId
    : `#${createHash('sha256').update(agentId).digest('hex').slice(0, 31)}`;
}

/** A budget's period in ms (a day when not given). */
function periodMsOf(budget: BudgetInput): number {
  return (budget.periodSeconds ?? 86_400) * 1000;
}

/** Cost in micro-units: tokens × price per million tokens (rounded up). */
function costMicros(price: ModelPrice, input: number, output: number): number {
  return Math.ceil(input * price.inputPerMillion + output * price.outputPerMillion);
}

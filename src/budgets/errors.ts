import { AgentfleetError, markRefusal } from '../errors/index.ts';
import type { BudgetsErrorCode } from './error-codes.ts';

/** Which budget refused: the tenant's (its quotas) or the agent's (its spec or cognition options). */
export type BudgetScope = 'tenant' | 'agent';

/** What a refusal is about. */
export interface BudgetRefusal {
  scope: BudgetScope;
  tenant: string | undefined;
  agentId: string | undefined;
  /** `tokens` (tokensPerPeriod) or `cost` (costPerPeriod). */
  limit: 'tokens' | 'cost';
  /** The limit, in tokens or cost units. */
  max: number;
  /** Spent in this period (tokens or cost units), reservations of calls in flight included. */
  spent: number;
  /** What this call was estimated to need (tokens or cost units). */
  estimate: number;
  /** When the period ends and the budget starts from zero, ms since the epoch. */
  resetsAt: number;
}

/**
 * A model call would take a budget past its limit for the period. Maps to HTTP 429 with
 * `Retry-After` (seconds until the period resets); `details` has the figures and `resetsAt`.
 */
export class BudgetExceededError extends AgentfleetError<BudgetsErrorCode> {
  readonly retryAfterSeconds: number;
  readonly resetsAt: number;
  constructor(refusal: BudgetRefusal, now: number) {
    const retryAfterSeconds = Math.max(1, Math.ceil((refusal.resetsAt - now) / 1000));
    const who =
      refusal.scope === 'tenant'
        ? `Tenant "${refusal.tenant ?? '-'}"`
        : `Agent "${refusal.agentId ?? '-'}" of tenant "${refusal.tenant ?? '-'}"`;
    super(
      'BUDGET_EXCEEDED',
      `${who} is over its ${refusal.limit} budget of ${refusal.max} per period (spent ${round(refusal.spent)}, this call needs about ${round(refusal.estimate)}); it resets at ${new Date(refusal.resetsAt).toISOString()} (in ${retryAfterSeconds} s).`,
      {
        details: {
          ...refusal,
          resetsAtIso: new Date(refusal.resetsAt).toISOString(),
          retryAfterSeconds,
        },
      },
    );
    this.retryAfterSeconds = retryAfterSeconds;
    this.resetsAt = refusal.resetsAt;
    markRefusal(this); // reaches the sender as BUDGET_EXCEEDED, not as a failed step
  }
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

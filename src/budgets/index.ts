export {
  type BudgetCall,
  type BudgetGate,
  type BudgetReservation,
  type TenantSpend,
  TokenBudgetGate,
  type TokenBudgetGateOptions,
} from './budget-gate.ts';
export { type BudgetLedger, MemoryBudgetLedger, type Spend } from './budget-ledger.ts';
export {
  type Budget,
  type BudgetInput,
  budgetSchema,
  type ModelPrice,
  type ModelPrices,
  modelPriceSchema,
  modelPricesSchema,
} from './budget-schema.ts';
export type { BudgetsErrorCode } from './error-codes.ts';
export { BudgetExceededError, type BudgetRefusal, type BudgetScope } from './errors.ts';

/** Stable codes of the errors budgets throw (each has an HTTP status in the server's table). */
export type BudgetsErrorCode = 'BUDGET_EXCEEDED';

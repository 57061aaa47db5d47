import { z } from 'zod';

/**
 * One budget: tokens and/or cost per period. Periods are fixed windows aligned to multiples of
 * `periodSeconds` since the Unix epoch (a day's budget resets at 00:00 UTC), and a new period
 * starts from zero. At least one of the limits is needed.
 */
export const budgetSchema = z
  .strictObject({
    /** Input plus output tokens per period. */
    tokensPerPeriod: z.number().int().min(0).max(1e15).optional(),
    /** Cost per period, in the unit the model prices are in (e.g. USD). */
    costPerPeriod: z.number().min(0).max(1e9).optional(),
    /** Length of the period, in seconds (1 s to 366 days). Default 86,400 (a day). */
    periodSeconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400)
      .default(86_400),
  })
  .refine((b) => b.tokensPerPeriod !== undefined || b.costPerPeriod !== undefined, {
    message: 'a budget needs tokensPerPeriod or costPerPeriod',
  });

/** A budget as written (period defaulted). */
export type BudgetInput = z.input<typeof budgetSchema>;
/** A validated budget. */
export type Budget = z.output<typeof budgetSchema>;

/** The price of one model, per million tokens, in the cost unit budgets use (e.g. USD). */
export const modelPriceSchema = z.strictObject({
  inputPerMillion: z.number().min(0).max(1e6),
  outputPerMillion: z.number().min(0).max(1e6),
});
export type ModelPrice = z.output<typeof modelPriceSchema>;

/** Prices by `provider/model` (the models config's `prices`). A model without a price costs 0. */
export const modelPricesSchema = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/\S+$/, 'must be provider/model, e.g. openai/gpt-4o-mini'),
  modelPriceSchema,
);
export type ModelPrices = z.output<typeof modelPricesSchema>;

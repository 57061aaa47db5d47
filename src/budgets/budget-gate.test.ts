// The budget gate: reservations refuse a call that would pass a limit, settle with the reported
// usage (over or under the estimate), are released on failure, per tenant and per agent, and a
// new period starts from zero. The clock is injected; nothing waits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withTenant } from '../context/index.ts';
import { AgentfleetError } from '../errors/index.ts';
import type { GenerateRequest } from '../llm/index.ts';
import { type Budget, BudgetExceededError, budgetSchema, TokenBudgetGate } from './index.ts';

/** A request of `chars` characters (≈ chars / 4 input tokens) and `maxTokens` output. */
const request = (chars: number, maxTokens = 100): GenerateRequest => ({
  model: 'm',
  messages: [{ role: 'user', content: 'x'.repeat(chars) }],
  maxTokens,
});
const call = (chars: number, maxTokens = 100, budget?: Budget) => ({
  agentId: 'bot',
  model: 'p/m',
  request: request(chars, maxTokens),
  ...(budget === undefined ? {} : { budget }),
});
const budget = (b: object): Budget => budgetSchema.parse(b);
const used = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, reported: true });

function gate(tenantBudget?: Budget, now = () => 1_000_000) {
  return new TokenBudgetGate({
    now,
    prices: { 'p/m': { inputPerMillion: 1, outputPerMillion: 2 } },
    tenantBudget: (t) => (t === 'acme' ? tenantBudget : undefined),
  });
}

function refused(fn: () => unknown): BudgetExceededError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BudgetExceededError, String(error));
    assert.equal(error.code, 'BUDGET_EXCEEDED');
    return error;
  }
  assert.fail('expected BUDGET_EXCEEDED');
}

describe('TokenBudgetGate', () => {
  it('estimates input from messages and tool schemas, output from maxTokens or the default', () => {
    const g = new TokenBudgetGate({ defaultOutputTokens: 50 });
    const tools = [{ name: 't', description: 'd', parameters: { type: 'object' } }];
    assert.equal(g.estimateInputTokens(request(400)), 100);
    const withTools = g.estimateInputTokens({ ...request(400), tools });
    assert.equal(withTools, 100 + Math.ceil(JSON.stringify(tools).length / 4));
  });

  it('refuses a call whose estimate would pass the tenant’s tokens, and says when it resets', () => {
    const g = gate(budget({ tokensPerPeriod: 1_000, periodSeconds: 60 }));
    withTenant('acme', () => {
      const r = g.reserve(call(2_000, 100)); // 500 + 100 = 600 reserved
      const error = refused(() => g.reserve(call(2_000, 100))); // 600 + 600 > 1000
      assert.equal(error.details?.scope, 'tenant');
      assert.equal(error.details?.limit, 'tokens');
      assert.equal(error.details?.spent, 600);
      assert.equal(error.resetsAt, 1_020_000); // the next multiple of 60 s
      assert.equal(error.retryAfterSeconds, 20);
      assert.match(error.message, /resets at 1970-01-01T00:17:00.000Z \(in 20 s\)/);
      r.release();
      g.reserve(call(2_000, 100)).release(); // room again
    });
    // Another tenant has no budget.
    withTenant('globex', () => g.reserve(call(100_000)).release());
  });

  it('settles with the reported usage, under or over the estimate', () => {
    const g = gate(budget({ tokensPerPeriod: 1_000 }));
    withTenant('acme', () => {
      g.reserve(call(2_000, 100)).settle(used(50, 10)); // estimated 600, used 60
      assert.equal(g.spendOf('acme').tokens, 60);
      assert.equal(g.spendOf('acme').reservedTokens, 0);
      assert.equal(g.spendOf('acme').cost, (50 * 1 + 10 * 2) / 1e6);
      g.reserve(call(40, 10)).settle(used(700, 200)); // estimated 20, used 900
      assert.equal(g.spendOf('acme').tokens, 960);
      g.reserve(call(40, 30)).release(); // 960 + 40 fits
      refused(() => g.reserve(call(40, 31))); // 960 + 41 does not
    });
  });

  it('counts the larger of the vendor’s and its own estimate when usage was not reported', () => {
    const g = gate(budget({ tokensPerPeriod: 10_000 }));
    withTenant('acme', () => {
      g.reserve(call(400, 10)).settle({ inputTokens: 20, outputTokens: 7, reported: false });
      assert.equal(g.spendOf('acme').tokens, 100 + 7);
    });
  });

  it('releases a failed call’s reservation; settling twice counts once', () => {
    const g = gate(budget({ tokensPerPeriod: 700 }));
    withTenant('acme', () => {
      const r = g.reserve(call(2_000, 100));
      r.release();
      r.settle(used(600, 0)); // after release: ignored
      assert.equal(g.spendOf('acme').tokens, 0);
      const s = g.reserve(call(2_000, 100));
      s.settle(used(100, 0));
      s.settle(used(100, 0));
      s.release();
      assert.equal(g.spendOf('acme').tokens, 100);
    });
  });

  it('answers each settled call’s cost, undefined for a model without a price or a second settle', () => {
    const g = gate();
    withTenant('acme', () => {
      const priced = g.reserve(call(400, 100));
      assert.equal(priced.settle(used(100, 100)), 0.0003, '100 × 1 + 100 × 2 per million');
      assert.equal(priced.settle(used(100, 100)), undefined);
      const free = g.reserve({ ...call(400, 100), model: 'p/unpriced' });
      assert.equal(free.settle(used(100, 100)), undefined);
    });
  });

  it('refuses on cost with prices per model', () => {
    const g = gate(budget({ costPerPeriod: 0.001 })); // 1,000 micro-units
    withTenant('acme', () => {
      // 100 input × 1 + 100 output × 2 = 300 micro-units each
      g.reserve(call(400, 100)).settle(used(100, 100));
      g.reserve(call(400, 100)).settle(used(100, 100));
      g.reserve(call(400, 100)).settle(used(100, 100));
      const error = refused(() => g.reserve(call(400, 100)));
      assert.equal(error.details?.limit, 'cost');
      assert.equal(error.details?.max, 0.001);
    });
  });

  it('keeps an agent’s budget per agent, beside its tenant’s', () => {
    const g = gate(budget({ tokensPerPeriod: 10_000 }));
    const agentBudget = budget({ tokensPerPeriod: 300 });
    withTenant('acme', () => {
      g.reserve(call(400, 100, agentBudget)).settle(used(100, 100));
      const error = refused(() => g.reserve(call(400, 100, agentBudget)));
      assert.equal(error.details?.scope, 'agent');
      assert.equal(error.details?.agentId, 'bot');
      // Another agent of the tenant has its own.
      g.reserve({ ...call(400, 100, agentBudget), agentId: 'other' }).settle(used(100, 100));
      // The tenant counted both.
      assert.equal(g.spendOf('acme').tokens, 400);
    });
    // The same agent id in another tenant is another agent.
    withTenant('globex', () => g.reserve(call(400, 100, agentBudget)).release());
  });

  it('starts a new period from zero', () => {
    let now = 3_600_000 * 10 + 5;
    const g = gate(budget({ tokensPerPeriod: 500, periodSeconds: 3_600 }), () => now);
    withTenant('acme', () => {
      g.reserve(call(1_600, 100)).settle(used(400, 100));
      refused(() => g.reserve(call(4, 1)));
      now = 3_600_000 * 11 - 1;
      refused(() => g.reserve(call(4, 1)));
      now = 3_600_000 * 11;
      assert.equal(g.spendOf('acme').tokens, 0);
      assert.equal(g.spendOf('acme').periodStart, 3_600_000 * 11);
      g.reserve(call(4, 1)).settle(used(1, 1));
    });
  });

  it('setPrices swaps the prices for new calls; a bad shape is refused and the old prices stay', () => {
    const g = gate();
    const held = g.reserve(call(4_000_000, 0)); // 1M input tokens at the old price
    g.setPrices({ 'p/m': { inputPerMillion: 10, outputPerMillion: 20 } });
    assert.equal(held.settle(used(1_000_000, 0)), 1, 'a reservation in flight keeps its price');
    assert.equal(g.reserve(call(4, 0)).settle(used(1_000_000, 0)), 10);
    for (const bad of [
      { 'no-slash': { inputPerMillion: 1, outputPerMillion: 1 } },
      { 'p/m': { input: 1 } },
      3,
    ]) {
      assert.throws(
        () => g.setPrices(bad as never),
        (e: unknown) => AgentfleetError.isInstance(e) && e.code === 'INVALID_OPTIONS',
      );
    }
    assert.equal(g.reserve(call(4, 0)).settle(used(1_000_000, 0)), 10, 'the old prices stay');
    g.setPrices({});
    assert.equal(g.reserve(call(4, 0)).settle(used(1_000_000, 0)), undefined, 'unpriced now');
  });

  it('rejects bad prices, options and budget shapes', () => {
    for (const bad of [
      { prices: { 'no-slash': { inputPerMillion: 1, outputPerMillion: 1 } } },
      { prices: { 'p/m': { inputPerMillion: -1, outputPerMillion: 1 } } },
      { prices: { 'p/m': { input: 1 } } },
      { defaultOutputTokens: -3 },
    ]) {
      assert.throws(
        () => new TokenBudgetGate(bad as never),
        (e: unknown) => AgentfleetError.isInstance(e) && e.code === 'INVALID_OPTIONS',
      );
    }
    for (const bad of [
      {},
      { periodSeconds: 60 },
      { tokensPerPeriod: -1 },
      { tokensPerPeriod: 1.5 },
      { costPerPeriod: 'ten' },
      { tokensPerPeriod: 10, periodSeconds: 0 },
      { tokensPerPeriod: 10, extra: true },
    ])
      assert.equal(budgetSchema.safeParse(bad).success, false, JSON.stringify(bad));
  });
});

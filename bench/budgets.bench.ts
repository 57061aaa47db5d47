// What a budget gate costs per model call, in one run, interleaved rounds (medians):
//   gate alone   — reserve + settle on a TokenBudgetGate (memory ledger) for a tenant with a
//                  budget, and for a tenant and an agent; and over a CrdtBudgetLedger (cluster
//                  counters on an in-memory bus, one delta published per settle);
//   LLM loop     — one `decide` of an LLM cognition over an in-process scripted model (no
//                  network), without a gate and with the node's gate: the difference is what a
//                  model call pays for budgets, its ratio what the loop's own cost grows by.

import { type BudgetGate, TokenBudgetGate } from '../src/budgets/index.ts';
import { createBus, MemoryHub, MemoryTransport } from '../src/bus/index.ts';
import { CrdtBudgetLedger } from '../src/cluster/index.ts';
import { withTenant } from '../src/context/index.ts';
import type { GenerateRequest } from '../src/llm/index.ts';
import { llm } from '../src/llm-agent/index.ts';
import { scriptedProvider } from '../test/scripted-provider.ts';
import { median } from './http-load.ts';
import { type BenchReport, round } from './report.ts';

const ROUNDS = 10;
const GATE_CALLS = 200_000;
const LOOP_CALLS = 50_000;
const USAGE = { inputTokens: 120, outputTokens: 40, reported: true };
const HUGE = { tokensPerPeriod: 1e15, costPerPeriod: 1e9, periodSeconds: 86_400 };
const PRICES = { 'p/m': { inputPerMillion: 0.15, outputPerMillion: 0.6 } };

function request(): GenerateRequest {
  return {
    model: 'm',
    messages: [
      { role: 'system', content: 'You are a helpful assistant. '.repeat(8) },
      { role: 'user', content: 'What is the weather in Paris today?' },
    ],
    tools: [{ name: 'weather', description: 'Weather by city', parameters: { type: 'object' } }],
    maxTokens: 256,
  };
}

/** µs per reserve + settle. */
function gateLoop(gate: BudgetGate, withAgent: boolean, calls: number): number {
  const req = request();
  const call = { agentId: 'bot', model: 'p/m', request: req, ...(withAgent ? { budget: HUGE } : {}) };
  return withTenant('acme', () => {
    const start = performance.now();
    for (let i = 0; i < calls; i++) gate.reserve(call).settle(USAGE);
    return ((performance.now() - start) * 1000) / calls;
  });
}

/** µs per `decide` of an LLM cognition over a scripted model. */
async function loopCalls(gate: BudgetGate | undefined, calls: number): Promise<number> {
  const provider = scriptedProvider(() => ({ text: 'sunny' }));
  const brain = llm({
    provider,
    model: 'm',
    system: 'You are a helpful assistant.',
    ...(gate === undefined ? {} : { budgets: gate }),
    maxTokens: 256,
  });
  const ctx = { agentId: 'bot', signal: new AbortController().signal };
  return withTenant('acme', async () => {
    const start = performance.now();
    for (let i = 0; i < calls; i++) await brain.decide('What is the weather in Paris today?', ctx);
    return ((performance.now() - start) * 1000) / calls;
  });
}

export async function runBudgetsBench(): Promise<BenchReport> {
  const memoryGate = new TokenBudgetGate({ prices: PRICES, tenantBudget: () => HUGE });
  const bus = createBus({ transport: new MemoryTransport(new MemoryHub()) });
  const ledger = await CrdtBudgetLedger.open({ bus, node: 'bench-a', name: 'bench-budgets' });
  const crdtGate = new TokenBudgetGate({ prices: PRICES, tenantBudget: () => HUGE, ledger });
  const loopGate = new TokenBudgetGate({ prices: PRICES, tenantBudget: () => HUGE });
  const kinds = {
    'gate: tenant budget': [] as number[],
    'gate: tenant + agent budgets': [] as number[],
    'gate: tenant budget, cluster ledger': [] as number[],
    'LLM loop, no gate': [] as number[],
    'LLM loop, gate': [] as number[],
  };
  // Warm-up.
  gateLoop(memoryGate, true, 20_000);
  gateLoop(crdtGate, false, 2_000);
  await loopCalls(undefined, 2_000);
  await loopCalls(loopGate, 2_000);
  for (let r = 0; r < ROUNDS; r++) {
    kinds['gate: tenant budget'].push(gateLoop(memoryGate, false, GATE_CALLS));
    kinds['gate: tenant + agent budgets'].push(gateLoop(memoryGate, true, GATE_CALLS));
    kinds['gate: tenant budget, cluster ledger'].push(gateLoop(crdtGate, false, GATE_CALLS / 10));
    await new Promise((resolve) => setImmediate(resolve)); // let the ledger's deltas go out
    // Alternating which goes first, so neither always follows the other's garbage.
    if (r % 2 === 0) {
      kinds['LLM loop, no gate'].push(await loopCalls(undefined, LOOP_CALLS));
      kinds['LLM loop, gate'].push(await loopCalls(loopGate, LOOP_CALLS));
    } else {
      kinds['LLM loop, gate'].push(await loopCalls(loopGate, LOOP_CALLS));
      kinds['LLM loop, no gate'].push(await loopCalls(undefined, LOOP_CALLS));
    }
    globalThis.gc?.();
  }
  await crdtGate.close();
  await bus.close();
  const m = (k: keyof typeof kinds) => median(kinds[k]);
  const added = m('LLM loop, gate') - m('LLM loop, no gate');
  return {
    name: 'budgets',
    measures: `budget gate per model call: reserve + settle (${ROUNDS} interleaved rounds, median), and an LLM loop over a scripted model with and without it`,
    rows: Object.keys(kinds).map((k) => ({
      case: k,
      'µs per call': round(m(k as keyof typeof kinds), 3),
    })),
    figures: {
      gateTenantUs: round(m('gate: tenant budget'), 3),
      gateTenantAgentUs: round(m('gate: tenant + agent budgets'), 3),
      gateClusterLedgerUs: round(m('gate: tenant budget, cluster ledger'), 3),
      loopNoGateUs: round(m('LLM loop, no gate'), 3),
      loopGateUs: round(m('LLM loop, gate'), 3),
      loopAddedUs: round(added, 3),
      loopRatio: round(m('LLM loop, gate') / m('LLM loop, no gate'), 3),
    },
  };
}

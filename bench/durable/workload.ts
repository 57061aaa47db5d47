// The agent-loop workload of issue 17's durable-runs benchmark, shared by the LangGraph.js and
// Agentfleet runners so both do the same thing: each agent gets one message and runs `steps`
// model steps (a fake in-process model: a tool call on each of the first `steps - 1` turns,
// a final text on the last) and `steps - 1` calls of one trivial tool.

/** What one run of the loop benchmark measured. */
export interface LoopFigures {
  /** Agent runs completed (one per agent). */
  runs: number;
  /** Model steps completed, all agents together (`runs × steps`). */
  steps: number;
  /** Wall time of all runs, in ms (setup and the warm-up run excluded). */
  wallMs: number;
  /** Process CPU (user + system) over all runs, in ms, divided by `steps`. */
  cpuMsPerStep: number;
  stepsPerSec: number;
  /** Peak RSS of the process, in MiB: the cell's own only in a fresh process (run-loops.ts runs each in one). */
  rssMiB: number;
}

/** Agents run at once: each batch of this many runs is awaited before the next starts. */
export const BATCH = 1_000;

export const PROMPT = 'Look up the key, then answer.';
export const TOOL_NAME = 'lookup';
export const TOOL_DESCRIPTION = 'Looks a key up';
/** The arguments the fake model passes to the tool, as the JSON text a model writes. */
export const TOOL_ARGS_JSON = '{"key":"k"}';
export const FINAL_TEXT = 'The value is 42.';

/** The trivial tool's answer: a small JSON object. */
export function lookup(args: { key: string }): { key: string; value: number } {
  return { key: args.key, value: 42 };
}

/**
 * What the fake model says next, from the tool results it has seen in this run: a tool call
 * while fewer than `steps - 1` results are in, then the final text. Stateless, so one fake
 * serves every agent at once.
 */
export function fakeTurn(toolResultsSeen: number, steps: number): { toolCallId: string } | { text: string } {
  return toolResultsSeen < steps - 1 ? { toolCallId: `call_${toolResultsSeen + 1}` } : { text: FINAL_TEXT };
}

/** Throws unless agents and steps are positive integers. */
export function checkLoopOptions(o: { agents: number; steps: number }): void {
  if (!Number.isInteger(o.agents) || o.agents < 1)
    throw new Error(`agents must be a positive integer; got ${o.agents}`);
  if (!Number.isInteger(o.steps) || o.steps < 1)
    throw new Error(`steps must be a positive integer; got ${o.steps}`);
}

/**
 * Runs `runOne(i)` for agents 0 … agents-1, `BATCH` at a time with `Promise.all`, and
 * measures wall time and process CPU over all of them. Stops between batches on `signal`.
 */
export async function measureLoop(
  o: { agents: number; steps: number; signal?: AbortSignal },
  runOne: (agent: number) => Promise<void>,
): Promise<LoopFigures> {
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let runs = 0;
  for (let first = 0; first < o.agents; first += BATCH) {
    o.signal?.throwIfAborted();
    const batch: Promise<void>[] = [];
    for (let i = first; i < Math.min(first + BATCH, o.agents); i++) batch.push(runOne(i));
    await Promise.all(batch);
    runs += batch.length;
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const steps = runs * o.steps;
  return {
    runs,
    steps,
    wallMs,
    cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
    stepsPerSec: steps / (wallMs / 1000),
    rssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

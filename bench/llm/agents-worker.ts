// One contender of the LLM-agents benchmark, in its own process: N agents at once, each doing
// 3 tool-call steps and a final answer against the fake vendor at <url>.
// Usage: node bench/llm/agents-worker.ts <contender> <N> <url>; prints one RESULT: JSON line.
import { z } from 'zod';

const [contender, nText, url] = process.argv.slice(2) as [string, string, string];
const N = Number(nText);
const PROMPT = 'scenario:tools3 look it up';
const STEPS_PER_RUN = 4;

const searchArgs = z.object({ query: z.string(), n: z.number() });
const search = ({ query, n }: z.infer<typeof searchArgs>) => `${n} results for ${query}`;

/** One run per agent; returns its duration in ms. */
type RunOne = () => Promise<void>;

async function floor(): Promise<RunOne> {
  const tools = [
    {
      type: 'function',
      function: { name: 'search', description: 'Search the docs', parameters: z.toJSONSchema(searchArgs) },
    },
  ];
  return async () => {
    const messages: unknown[] = [{ role: 'user', content: PROMPT }];
    for (let step = 0; step < STEPS_PER_RUN; step++) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
        body: JSON.stringify({ model: 'm', messages, tools }),
      });
      const body = (await res.json()) as {
        choices: Array<{ message: { tool_calls?: Array<{ id: string; function: { arguments: string } }> } }>;
      };
      const message = body.choices[0]?.message;
      messages.push(message);
      if (!message?.tool_calls) return;
      for (const call of message.tool_calls) {
        const args = searchArgs.parse(JSON.parse(call.function.arguments));
        messages.push({ role: 'tool', tool_call_id: call.id, content: search(args) });
      }
    }
  };
}

/**
 * The same loop over undici's keep-alive Pool: the lower floor, the HTTP client Agentfleet
 * uses, with as many connections as Agentfleet's default so the floor is not capped lower.
 */
async function undiciFloor(): Promise<RunOne> {
  const { Pool } = await import('undici');
  const { DEFAULT_CONNECTIONS } = await import('../../src/llm/index.ts');
  const pool = new Pool(url, { connections: DEFAULT_CONNECTIONS });
  const tools = [
    {
      type: 'function',
      function: { name: 'search', description: 'Search the docs', parameters: z.toJSONSchema(searchArgs) },
    },
  ];
  return async () => {
    const messages: unknown[] = [{ role: 'user', content: PROMPT }];
    for (let step = 0; step < STEPS_PER_RUN; step++) {
      const res = await pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
        body: JSON.stringify({ model: 'm', messages, tools }),
      });
      const body = (await res.body.json()) as {
        choices: Array<{ message: { tool_calls?: Array<{ id: string; function: { arguments: string } }> } }>;
      };
      const message = body.choices[0]?.message;
      messages.push(message);
      if (!message?.tool_calls) return;
      for (const call of message.tool_calls) {
        const args = searchArgs.parse(JSON.parse(call.function.arguments));
        messages.push({ role: 'tool', tool_call_id: call.id, content: search(args) });
      }
    }
  };
}

/**
 * Agentfleet with the provider as a user gets it (`http` unset: the defaults), or with
 * `http` set (the old default of 64 connections, for comparison in the same run). The
 * runtime's pool is sized to N unless `runtimeDefaults` (then it is the default: 1,024 steps
 * at once, 10,000 queued), so the provider is the only difference between the first two.
 */
async function agentfleet(http?: { connections: number }, runtimeDefaults = false): Promise<RunOne> {
  const { createRuntime, createProvider, defineAgent, defineTool, llm } = await import('../../src/index.ts');
  const provider = createProvider('openai', {
    baseUrl: `${url}/v1`,
    apiKey: 'k',
    ...(http === undefined ? {} : { http }),
  });
  const tool = defineTool({
    name: 'search',
    description: 'Search the docs',
    parameters: searchArgs,
    execute: search,
  });
  const runtime = runtimeDefaults
    ? createRuntime()
    : createRuntime({ pool: { capacity: Math.max(N, 1), queueLimit: N } });
  const definition = defineAgent({
    name: 'assistant',
    decide: llm({ provider, model: 'm', tools: [tool], maxSteps: STEPS_PER_RUN, memory: { maxMessages: 0 } }),
    act: (answer) => answer.text,
  });
  let next = 0;
  return async () => {
    const agent = await runtime.spawn(definition, { id: `a${next++}` });
    await agent.send(PROMPT);
  };
}

async function aiSdk(): Promise<RunOne> {
  const { generateText, stepCountIs, tool } = await import('ai');
  const { createOpenAI } = await import('@ai-sdk/openai');
  const model = createOpenAI({ baseURL: `${url}/v1`, apiKey: 'k' }).chat('m');
  const tools = {
    search: tool({
      description: 'Search the docs',
      inputSchema: searchArgs,
      execute: async (a) => search(a),
    }),
  };
  return async () => {
    await generateText({ model, tools, stopWhen: stepCountIs(STEPS_PER_RUN), prompt: PROMPT });
  };
}

async function openaiAgents(): Promise<RunOne> {
  const agents = await import('@openai/agents');
  const { default: OpenAI } = await import('openai');
  agents.setDefaultOpenAIClient(new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 }));
  agents.setOpenAIAPI('chat_completions');
  agents.setTracingDisabled(true);
  const agent = new agents.Agent({
    name: 'assistant',
    instructions: 'Search, then answer.',
    model: 'm',
    tools: [
      agents.tool({
        name: 'search',
        description: 'Search the docs',
        parameters: searchArgs,
        execute: async (a) => search(a),
      }),
    ],
  });
  return async () => {
    await agents.run(agent, PROMPT, { maxTurns: STEPS_PER_RUN + 1 });
  };
}

const contenders: Record<string, () => Promise<RunOne>> = {
  fetch: floor,
  undici: undiciFloor,
  agentfleet: () => agentfleet(),
  'agentfleet-64': () => agentfleet({ connections: 64 }),
  'agentfleet-defaults': () => agentfleet(undefined, true),
  'ai-sdk': aiSdk,
  'openai-agents': openaiAgents,
};

const make = contenders[contender];
if (make === undefined) throw new Error(`unknown contender ${contender}`);
const runOne = await make();
await runOne(); // warm the code paths once (not counted)
const cpu0 = process.cpuUsage();
const started = performance.now();
const durations: number[] = [];
let failures = 0;
let firstError: string | undefined;
await Promise.all(
  Array.from({ length: N }, async () => {
    const t = performance.now();
    try {
      await runOne();
      durations.push(performance.now() - t);
    } catch (error) {
      failures++;
      firstError ??= String((error as Error)?.message ?? error).slice(0, 200);
    }
  }),
);
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
durations.sort((a, b) => a - b);
const pct = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? 0;
const steps = durations.length * STEPS_PER_RUN;
console.log(
  `RESULT:${JSON.stringify({
    contender,
    n: N,
    runs: durations.length,
    failures,
    firstError,
    wallMs,
    stepsPerSec: steps / (wallMs / 1000),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    cpuMsPerStep: steps === 0 ? 0 : (cpu.user + cpu.system) / 1000 / steps,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  })}`,
);
process.exit(0);

// What observability costs on /act: the server's request path in process (router, act agent
// step, JSON response, through `server.dispatch` with no socket), four ways, in interleaved
// rounds (median µs per request):
//   off              — no metrics registry listening, tracing off;
//   metrics          — a prom-client registry fed by the runtime's step events, scraped each round;
//   metrics + 10%    — and OpenTelemetry tracing sampling 10% of traces, spans batched to an
//                      exporter that drops them (the network is not what is measured);
//   metrics + 100%   — every request traced (HTTP server span, agent.decision).
// The in-process loss is an upper bound: the socket work a real request also costs is not in
// the denominator. With wrk installed, the bench also measures a real server's CPU per /act
// request from /proc and gives the loss a CPU-bound server would see: Δµs ÷ (that + Δµs).
//
// Second, the agent loop: 200 LLM agents (llm() with a tool) each running 3 tool-call steps and
// an answer against the fake OpenAI-format vendor in another process, the same four settings in
// interleaved rounds. Each round reports this process's CPU per model step (process.cpuUsage):
// the loss a CPU-bound fleet would see is 1 − CPU(off) ÷ CPU(setting).
import { spawn } from 'node:child_process';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';
import { actAgent } from '../src/agents/index.ts';
import { createRuntime, defineAgent } from '../src/core/index.ts';
import { llm } from '../src/llm-agent/index.ts';
import { createProvider } from '../src/models/index.ts';
import { createMetrics, type Metrics, setupTracing, type TracingHandle } from '../src/observability/index.ts';
import { AgentfleetServer } from '../src/server/index.ts';
import { defineTool } from '../src/tools/index.ts';
import { has } from './go.ts';
import { median, startServerProcess } from './http-load.ts';
import { type BenchReport, printReport, round } from './report.ts';

const ROUNDS = Number(process.env.BENCH_OBS_ROUNDS ?? 9);
const REQUESTS = Number(process.env.BENCH_OBS_REQUESTS ?? 100_000);
const KINDS = ['off', 'metrics', 'metrics + tracing 10%', 'metrics + tracing 100%'] as const;
type Kind = (typeof KINDS)[number];
const root = fileURLToPath(new URL('..', import.meta.url));

/** Takes spans and drops them, as a fast collector would. */
class DiscardExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function httpCpuPerRequest(): Promise<number | undefined> {
  if (!has('wrk')) return undefined;
  const server = await startServerProcess('bench-admin-key-0123456789');
  try {
    await server.load(1);
    const cpu: number[] = [];
    for (let i = 0; i < 3; i++) cpu.push((await server.load(3)).cpuUs);
    return median(cpu);
  } finally {
    await server.stop();
  }
}

const LOOP_AGENTS = 200;
const LOOP_ROUNDS = Number(process.env.BENCH_OBS_LOOP_ROUNDS ?? 7);

async function startVendor(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['test/vendors/main.ts', '--latency', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) =>
      resolve((JSON.parse(chunk.toString()) as { url: string }).url),
    );
    child.once('exit', () => reject(new Error('the fake vendor exited')));
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU µs of this process per model step, and steps/s, for each setting (medians over rounds). */
async function agentLoop(
  enter: (kind: Kind) => void,
  leave: () => Promise<void>,
): Promise<Record<Kind, { cpuUs: number[]; stepsPerSecond: number[] }>> {
  const vendor = await startVendor();
  const provider = createProvider('openai', {
    baseUrl: `${vendor.url}/v1`,
    apiKey: 'k',
    http: { connections: 64 },
  });
  const search = defineTool({
    name: 'search',
    description: 'Search',
    parameters: z.object({ query: z.string(), n: z.number() }),
    execute: ({ n }) => `${n} hits`,
  });
  const runtime = createRuntime();
  const def = defineAgent({
    name: 'assistant',
    decide: llm({ provider, model: 'm', tools: [search], memory: { maxMessages: 0 } }),
  });
  const agents = await Promise.all(
    Array.from({ length: LOOP_AGENTS }, (_, i) => runtime.spawn(def, { id: `a${i}` })),
  );
  const out = Object.fromEntries(
    KINDS.map((k) => [k, { cpuUs: [], stepsPerSecond: [] }]),
  ) as unknown as Record<Kind, { cpuUs: number[]; stepsPerSecond: number[] }>;
  const round1 = async () => {
    await Promise.all(agents.map((a) => a.send('scenario:tools3 go')));
    return LOOP_AGENTS * 4;
  };
  for (const kind of KINDS) {
    enter(kind);
    await round1();
    await leave();
  }
  for (let r = 0; r < LOOP_ROUNDS; r++) {
    for (const kind of KINDS) {
      enter(kind);
      const cpu = process.cpuUsage();
      const start = performance.now();
      let steps = 0;
      for (let i = 0; i < 3; i++) steps += await round1();
      const wall = performance.now() - start;
      const used = process.cpuUsage(cpu);
      out[kind].cpuUs.push((used.user + used.system) / steps);
      out[kind].stepsPerSecond.push((steps * 1000) / wall);
      await leave();
    }
  }
  await runtime.close();
  await provider.close();
  await vendor.stop();
  return out;
}

export async function runObservabilityBench(): Promise<BenchReport> {
  const runtime = createRuntime();
  await runtime.spawn(actAgent, { id: 'act' });
  const server = new AgentfleetServer({
    runtime,
    actAgentId: 'act',
    publicAct: true,
    auth: { authenticator: 'none' },
  });
  const socket = new Socket();
  const headers = { 'x-trusted': 'true' };
  const once = async () => {
    const req = new IncomingMessage(socket);
    req.method = 'GET';
    req.url = '/act';
    req.headers = headers;
    const res = new ServerResponse(req);
    await server.dispatch(req, res);
  };
  const exporter = new DiscardExporter();
  let metrics: Metrics | undefined;
  let tracing: TracingHandle | undefined;
  const enter = (kind: Kind) => {
    if (kind !== 'off') metrics = createMetrics({ runtime });
    if (kind === 'metrics + tracing 10%') tracing = setupTracing({ exporter, sampleRatio: 0.1, env: {} });
    if (kind === 'metrics + tracing 100%') tracing = setupTracing({ exporter, sampleRatio: 1, env: {} });
  };
  const leave = async () => {
    if (metrics !== undefined) await metrics.render(); // one scrape per round
    metrics?.close();
    metrics = undefined;
    await tracing?.shutdown();
    tracing = undefined;
  };
  const us: Record<Kind, number[]> = {
    off: [],
    metrics: [],
    'metrics + tracing 10%': [],
    'metrics + tracing 100%': [],
  };
  for (const kind of KINDS) {
    enter(kind);
    for (let i = 0; i < 20_000; i++) await once();
    await leave();
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of KINDS) {
      enter(kind);
      const start = performance.now();
      for (let i = 0; i < REQUESTS; i++) await once();
      us[kind].push(((performance.now() - start) * 1000) / REQUESTS);
      await leave();
    }
  }
  await server.close();
  await runtime.close();
  const loop = await agentLoop(enter, leave);
  const loopCpu = (k: Kind) => median(loop[k].cpuUs);
  const loopLoss = (k: Kind) => round((1 - loopCpu('off') / loopCpu(k)) * 100, 2);
  const base = median(us.off);
  const httpCpu = await httpCpuPerRequest();
  const modelled = (kind: Kind) => {
    const added = median(us[kind]) - base;
    return httpCpu === undefined ? undefined : round((added / (httpCpu + added)) * 100, 2);
  };
  return {
    name: 'observability',
    measures: `agent loop (${LOOP_AGENTS} LLM agents × 4 steps × 3, ${LOOP_ROUNDS} rounds) and /act request path in process, ${ROUNDS} interleaved rounds × ${REQUESTS.toLocaleString('en')} per setting (median); spans exported in batches to a discarding exporter (${exporter.spans.toLocaleString('en')} spans in all)`,
    rows: KINDS.map((k) => ({
      setting: k,
      '/act µs/request': round(median(us[k]), 3),
      '/act added µs': round(median(us[k]) - base, 3),
      '/act loss, CPU-bound server %': modelled(k) ?? 'wrk missing',
      'agent loop CPU µs/step': round(loopCpu(k), 1),
      'agent loop steps/s': Math.round(median(loop[k].stepsPerSecond)),
      'agent loop loss %': loopLoss(k),
    })),
    figures: {
      offUsPerRequest: round(base, 3),
      metricsUsPerRequest: round(median(us.metrics), 3),
      sampled10UsPerRequest: round(median(us['metrics + tracing 10%']), 3),
      sampled100UsPerRequest: round(median(us['metrics + tracing 100%']), 3),
      httpServerCpuUsPerRequest: httpCpu === undefined ? 'wrk missing' : round(httpCpu, 1),
      metricsLossPercent: modelled('metrics') ?? 'wrk missing',
      metricsAndTracing10LossPercent: modelled('metrics + tracing 10%') ?? 'wrk missing',
      metricsAndTracing100LossPercent: modelled('metrics + tracing 100%') ?? 'wrk missing',
      agentLoopCpuUsPerStepOff: round(loopCpu('off'), 1),
      agentLoopMetricsLossPercent: loopLoss('metrics'),
      agentLoopMetricsAndTracing10LossPercent: loopLoss('metrics + tracing 10%'),
      agentLoopMetricsAndTracing100LossPercent: loopLoss('metrics + tracing 100%'),
    },
  };
}

if (import.meta.main) printReport(await runObservabilityBench());

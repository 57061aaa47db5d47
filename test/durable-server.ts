// A server over a node with durable agents on a scripted model, two tenants with keys, and
// helpers to call it and read its event streams: for the durable-run HTTP tests.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { z } from 'zod';
import { loadServerConfig } from '../src/config/index.ts';
import { withTenant } from '../src/context/index.ts';
import { defineAgent } from '../src/core/index.ts';
import { llm } from '../src/llm-agent/index.ts';
import { type RunningServer, startServer } from '../src/server/index.ts';
import { defineTool } from '../src/tools/index.ts';
import { scriptedProvider, toolLoop } from './scripted-provider.ts';
import { createTestTenant, TEST_ADMIN_KEY } from './server-auth.ts';

export interface DurableServer {
  app: RunningServer;
  base: string;
  /** `Authorization` values of the tenants `alpha` and `beta`; each has agents `desk` (durable), `chat` (not) and `loner` (durable, in a store of its own). */
  alpha: string;
  beta: string;
  /** Refunds executed, in order. */
  refunds: number[];
  /** Releases the `wait` tool's calls (they block until then). */
  release(): void;
  close(): Promise<void>;
}

/**
 * Runs are kept in memory, or with `runs: 'sqlite'` in a fresh data folder (removed on close).
 * The durable agent `desk` reads its input as `<tool> <amount>`: `refund 500` calls `refund`
 * (which needs approval over 100), `wait 0` calls `wait` (which blocks until `release()`),
 * anything else answers at once. `chat` is a plain LLM agent whose runs are not durable.
 */
export async function startDurableServer(
  options: { runs?: 'memory' | 'sqlite' } = {},
): Promise<DurableServer> {
  const dataDir = options.runs === 'sqlite' ? await mkdtemp(join(tmpdir(), 'af-runs-')) : undefined;
  const env = dataDir === undefined ? {} : { AGENTFLEET_RUNS: 'sqlite', AGENTFLEET_DATA_DIR: dataDir };
  const app = await startServer(
    loadServerConfig(env, { port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey: TEST_ADMIN_KEY }),
    pino({ level: 'silent' }),
  );
  const refunds: number[] = [];
  let gate = Promise.withResolvers<void>();
  const refund = defineTool({
    name: 'refund',
    description: 'Refund an amount',
    parameters: z.object({ amount: z.number() }),
    needsApproval: ({ amount }) => (amount > 100 ? `amount ${amount} is over the 100 limit` : false),
    execute: ({ amount }) => {
      refunds.push(amount);
      return { refunded: amount };
    },
  });
  const wait = defineTool({
    name: 'wait',
    description: 'Waits to be released',
    parameters: z.object({}),
    execute: async () => {
      await gate.promise;
      return 'released';
    },
  });
  const provider = scriptedProvider((request, call) => {
    const user = request.messages.findLast((m) => m.role === 'user')?.content ?? '';
    const [tool = '', amount = '0'] = user.split(' ');
    if (tool !== 'refund' && tool !== 'wait') return { text: `echo: ${user}` };
    return toolLoop(tool, 1, () => (tool === 'refund' ? { amount: Number(amount) } : {}))(request, call);
  });
  const runs = { runs: app.node.runs.store, runOwner: app.node.runs.owner };
  app.runtime.register(
    defineAgent({
      name: 'desk',
      decide: llm({ provider, model: 'scripted', tools: [refund, wait], ...runs }),
    }),
  );
  app.runtime.register(defineAgent({ name: 'chat', decide: llm({ provider, model: 'scripted' }) }));
  // Durable too (a tool needs approval), but with a run store of its own, not the node's.
  app.runtime.register(
    defineAgent({ name: 'loner', decide: llm({ provider, model: 'scripted', tools: [refund] }) }),
  );
  const tenants: string[] = [];
  for (const id of ['alpha', 'beta']) {
    const tenant = await createTestTenant(app, id);
    tenants.push(tenant.authorization);
    await withTenant(id, async () => {
      await app.runtime.spawn('desk', { id: 'desk' });
      await app.runtime.spawn('chat', { id: 'chat' });
      await app.runtime.spawn('loner', { id: 'loner' });
    });
  }
  return {
    app,
    base: `http://127.0.0.1:${app.port}`,
    alpha: tenants[0]!,
    beta: tenants[1]!,
    refunds,
    release() {
      gate.resolve();
      gate = Promise.withResolvers<void>();
    },
    async close() {
      await app.shutdown();
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A JSON reply. */
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
export type Reply = { status: number; headers: Headers; body: any };

/** Calls the API with a tenant's `Authorization` and a JSON body. */
export async function call(
  base: string,
  method: string,
  path: string,
  authorization: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** One server-sent event. */
export interface SseEvent {
  id?: number;
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON data of many shapes
  data: any;
}

/** An open event stream, read as it arrives. */
export interface SseReader {
  status: number;
  events: SseEvent[];
  /** Resolves once the server ended the stream. */
  ended: Promise<void>;
  /** Waits until an event matches (within 5 s), returning it. */
  until(match: (event: SseEvent) => boolean): Promise<SseEvent>;
  /** Drops the connection. */
  close(): void;
}

/** Opens an SSE request and reads it in the background. */
export async function openSse(
  url: string,
  authorization: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<SseReader> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    signal: controller.signal,
    headers: {
      authorization,
      accept: 'text/event-stream',
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  assert.equal(res.status, 200, await (res.status === 200 ? '' : res.clone().text()));
  const events: SseEvent[] = [];
  let wake = () => {};
  const ended = (async () => {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
        text += decoder.decode(bytes, { stream: true });
        let end = text.indexOf('\n\n');
        while (end !== -1) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          end = text.indexOf('\n\n');
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data === undefined) continue; // a comment
          const id = /^id: (.*)$/m.exec(block)?.[1];
          events.push({
            ...(id === undefined ? {} : { id: Number(id) }),
            event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message',
            data: JSON.parse(data),
          });
          wake();
        }
      }
    } catch {
      // dropped by close()
    }
    wake();
  })();
  let done = false;
  void ended.then(() => {
    done = true;
  });
  return {
    status: res.status,
    events,
    ended,
    async until(match) {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const found = events.find(match);
        if (found !== undefined) return found;
        if (done) assert.fail(`the stream ended without it: ${JSON.stringify(events.map((e) => e.event))}`);
        if (Date.now() > deadline) assert.fail(`not in time: ${JSON.stringify(events.map((e) => e.event))}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => controller.abort(),
  };
}

/** Polls the run until `status` (within 5 s); returns its header. */
export async function runReaches(
  server: DurableServer,
  runId: string,
  status: string,
  authorization = server.alpha,
): Promise<Reply['body']> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const run = await call(server.base, 'GET', `/v1/runs/${runId}`, authorization);
    if (run.body?.status === status) return run.body;
    if (Date.now() > deadline) assert.fail(`run ${runId} is ${run.body?.status}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

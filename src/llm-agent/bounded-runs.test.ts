// Issue 17's bound: 100,000 durable runs through an LLM agent on the SQLite store, swept by
// TTL as they go, leave a bounded number of rows and a bounded heap.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import { scriptedProvider, toolLoop } from '../../test/scripted-provider.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { SqliteRunStore } from '../runs/index.ts';
import { defineTool } from '../tools/index.ts';
import { llm } from './index.ts';

const RUNS = Number(process.env.BOUNDED_RUNS ?? 100_000);
const AGENTS = 50;
const SWEEP_EVERY = 5_000;

// A real collection before each heap reading, when this process may have one.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('100,000 durable runs', () => {
  it('leave storage and memory bounded once their TTLs pass', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'af-bounded-'));
    const path = join(dir, 'runs.db');
    const store = await SqliteRunStore.open({ path });
    const db = new DatabaseSync(path, { readOnly: true });
    const count = (table: string) =>
      Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    const runtime = createRuntime();
    try {
      const echo = defineTool({
        name: 'echo',
        description: 'Echo',
        parameters: z.object({ n: z.number() }),
        execute: ({ n }) => ({ n }),
      });
      const cognition = llm({
        provider: scriptedProvider(toolLoop('echo', 1, (n) => ({ n }))),
        model: 'm',
        tools: [echo],
        runs: store,
        memory: { maxMessages: 20 },
      });
      const definition = defineAgent({ name: 'bounded', decide: cognition });
      const agents = await Promise.all(
        Array.from({ length: AGENTS }, (_, i) => runtime.spawn(definition, { id: `b${i}` })),
      );
      let sent = 0;
      let baseline = 0;
      let maxRuns = 0;
      let maxEvents = 0;
      let swept = 0;
      let baselineBytes = 0;
      const fileBytes = () =>
        ['', '-wal'].reduce(
          (n, suffix) => n + (existsSync(path + suffix) ? statSync(path + suffix).size : 0),
          0,
        );
      const started = Date.now();
      while (sent < RUNS) {
        const batch = Math.min(SWEEP_EVERY, RUNS - sent);
        await Promise.all(
          agents.map(async (agent, a) => {
            for (let i = a; i < batch; i += AGENTS) await agent.send(`run ${sent + i}`);
          }),
        );
        sent += batch;
        maxRuns = Math.max(maxRuns, count('runs'));
        maxEvents = Math.max(maxEvents, count('run_events'));
        // First the events' TTL passes: each finished run keeps its header (its summary) only.
        let now = Date.now();
        await store.sweep({
          runsFinishedBefore: 0,
          eventsFinishedBefore: now,
          approvalsDecidedBefore: 0,
          limit: 10_000,
        });
        assert.equal(count('run_events'), 0);
        assert.equal(count('runs'), batch);
        const [last] = await store.list(undefined, { limit: 1 });
        assert.equal(last?.status, 'completed');
        assert.match(last?.result ?? '', /^done: /);
        // Then the runs' TTL: they go.
        now = Date.now();
        const r = await store.sweep({
          runsFinishedBefore: now,
          eventsFinishedBefore: now,
          approvalsDecidedBefore: now,
          limit: 10_000,
        });
        swept += r.runs;
        assert.equal(count('runs'), 0);
        if (sent === SWEEP_EVERY) {
          baseline = heap();
          baselineBytes = fileBytes();
        }
      }
      const after = heap();
      const bytes = fileBytes();
      const figures = {
        runs: sent,
        seconds: (Date.now() - started) / 1000,
        swept,
        maxRunRows: maxRuns,
        maxEventRows: maxEvents,
        runRows: count('runs'),
        eventRows: count('run_events'),
        conversations: count('conversations'),
        heapBaselineMB: mb(baseline),
        heapAfterMB: mb(after),
        fileBaselineMB: mb(baselineBytes),
        fileAfterMB: mb(bytes),
      };
      console.log(`bounded-runs: ${JSON.stringify(figures)}`);
      assert.equal(sent, RUNS);
      assert.equal(swept, RUNS);
      assert.ok(maxRuns <= SWEEP_EVERY, `at most one sweep interval of runs is kept: ${maxRuns}`);
      assert.ok(maxEvents <= SWEEP_EVERY * 6, `and of their events: ${maxEvents}`);
      assert.equal(figures.runRows, 0);
      assert.equal(figures.eventRows, 0);
      assert.equal(count('approvals'), 0);
      // Conversation memory: one row per agent, each bounded by maxMessages.
      assert.equal(figures.conversations, AGENTS);
      for (let i = 0; i < AGENTS; i++)
        assert.ok(((await store.getConversation(undefined, `b${i}`))?.messages.length ?? 0) <= 20);
      // Generous bounds, not timings: what 95,000 more runs left behind is far below a run's worth each.
      assert.ok(after - baseline < 32 * 2 ** 20, `heap grew ${mb(after - baseline)} MB`);
      assert.ok(
        bytes < baselineBytes * 2 + 8 * 2 ** 20,
        `the file grew from ${mb(baselineBytes)} to ${mb(bytes)} MB`,
      );
    } finally {
      await runtime.close();
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Resume after a restart: a data folder holds N unfinished durable runs (each stopped after a
// tool result, so its next step is a model call), owned by node `bench-node`. A fresh process
// opens it with createNode and resumes them all; we time the first resumed step and the rest.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRunId, type RunEvent, SqliteRunStore } from '../src/runs/index.ts';
import { type BenchReport, round } from './report.ts';

const COUNT = Number(process.env.BENCH_RESUME_RUNS ?? 10_000);

export async function fill(dataDir: string, count: number): Promise<void> {
  const store = await SqliteRunStore.open({ path: join(dataDir, 'runs.db') });
  writeFileSync(join(dataDir, 'node-id'), 'bench-node\n');
  const now = Date.now();
  const call = { id: 'c1', name: 'lookup', arguments: '{}' };
  const events = (): RunEvent[] => [
    { seq: 1, at: now, body: { type: 'start', input: 'look it up' } },
    {
      seq: 2,
      at: now,
      body: {
        type: 'model-response',
        step: 1,
        message: { role: 'assistant', content: '', toolCalls: [call] },
        usage: { inputTokens: 1, outputTokens: 1 },
      },
    },
    { seq: 3, at: now, body: { type: 'tool-start', step: 1, callId: 'c1', name: 'lookup' } },
    {
      seq: 4,
      at: now,
      body: {
        type: 'tool-result',
        step: 1,
        callId: 'c1',
        message: { role: 'tool', toolCallId: 'c1', name: 'lookup', content: '42' },
      },
    },
  ];
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      store.create(
        {
          id: newRunId(),
          agentId: `a${i}`,
          definition: 'resumer',
          version: '1',
          status: 'running',
          step: 1,
          usage: { inputTokens: 1, outputTokens: 1 },
          seq: 4,
          owner: 'bench-node',
          createdAt: now,
          updatedAt: now,
        },
        events(),
      ),
    ),
  );
  await store.close();
}

function restart(dataDir: string, count: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/durable/resume-child.ts', dataDir, String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`the restarted node exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) as string));
    });
  });
}

export async function runRunsResumeBench(): Promise<BenchReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentfleet-resume-'));
  try {
    await fill(dataDir, COUNT);
    const t = await restart(dataDir, COUNT);
    const rows = [
      { from: 'process start', to: 'first resumed step', ms: round(t.processToFirstStepMs ?? 0, 1) },
      { from: 'createNode()', to: 'node ready (resumes queued)', ms: round(t.createNodeMs ?? 0, 1) },
      { from: 'createNode()', to: 'first resumed step', ms: round(t.createNodeToFirstStepMs ?? 0, 1) },
      { from: 'createNode()', to: `all ${COUNT} resumed steps`, ms: round(t.allStepsMs ?? 0, 1) },
      { from: 'createNode()', to: `all ${COUNT} runs finished`, ms: round(t.allFinishedMs ?? 0, 1) },
    ];
    return {
      name: 'runs-resume',
      measures: `restart of a node whose SQLite run store holds ${COUNT} unfinished runs (each agent made again from its definition), to its first and last resumed step`,
      rows,
      figures: {
        runs: COUNT,
        processToFirstStepMs: round(t.processToFirstStepMs ?? 0, 1),
        createNodeToFirstStepMs: round(t.createNodeToFirstStepMs ?? 0, 1),
        allFinishedMs: round(t.allFinishedMs ?? 0, 1),
      },
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

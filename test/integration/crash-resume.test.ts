// Resume after a crash (issue 17): a node running 200 durable runs on SQLite is SIGKILLed at
// random points (seeded), in model calls, tool calls and while runs await approval, and started
// again until every run finished. Then, from the store and the log of every tool execution:
// every run completed; a call whose result was recorded never ran again; a non-idempotent call
// ran at most once, or twice when a person approved re-running an interrupted one (once after
// that); an idempotent call ran again only across a resume. Some rounds the node kills itself
// right after writing an approval's decision, before it resumes the run. The figures go to the
// console (`crash-resume: {...}`); CRASH_SEED replays another schedule, CRASH_KEEP keeps the folder.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type ApprovalRecord, type RunEvent, SqliteRunStore } from '../../src/runs/index.ts';
import { seededRandom } from '../helpers.ts';

const fixture = fileURLToPath(new URL('./fixtures/crash-node.ts', import.meta.url));
const RUNS = 200;
const KILLS = 14;
const SEED = Number(process.env.CRASH_SEED ?? 17);

interface Child {
  process: ChildProcess;
  ready: Promise<void>;
  done: Promise<boolean>;
  exited: Promise<unknown>;
  stderr: () => string;
}

function startNode(dir: string, decideAndDie = false): Child {
  const args = [fixture, dir, String(RUNS), ...(decideAndDie ? ['decide-and-die'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let ready!: () => void;
  let done!: (v: boolean) => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const doneP = new Promise<boolean>((r) => (done = r));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (/^ready$/m.test(out)) ready();
    if (/^done$/m.test(out)) done(true);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = once(child, 'exit');
  exited.then(() => {
    ready();
    done(/^done$/m.test(out));
  });
  return { process: child, ready: readyP, done: doneP, exited, stderr: () => err };
}

/** Where each unfinished run was when the node died: awaiting approval, in a tool call, or else in a model call. */
async function phases(store: SqliteRunStore): Promise<{ model: number; tool: number; approval: number }> {
  const counts = { model: 0, tool: 0, approval: 0 };
  for (const run of await store.unfinished({ limit: 1_000 })) {
    if (run.status === 'awaiting-approval') {
      counts.approval++;
      continue;
    }
    const open = new Set<string>();
    for (const { body } of await store.events(undefined, run.id)) {
      if (body.type === 'tool-start') open.add(body.callId);
      else if (body.type === 'tool-result') open.delete(body.callId);
      else if (body.type === 'model-response') open.clear();
    }
    if (open.size > 0) counts.tool++;
    else counts.model++;
  }
  return counts;
}

interface CallFacts {
  tool: string;
  starts: number[];
  results: RunEvent[];
  interrupted: ApprovalRecord[];
  executions: number[];
}

describe('resume after a crash', () => {
  it('SIGKILLed at random points, every run finishes and no recorded call runs twice', {
    timeout: 150_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'af-crash-'));
    const random = seededRandom(SEED);
    const dbPath = join(dir, 'runs.db');
    const at = { model: 0, tool: 0, approval: 0 };
    let kills = 0;
    let selfKills = 0;
    let finished = false;
    try {
      for (let round = 0; round < KILLS && !finished; round++) {
        // One round in four the node kills itself right after writing a decision (before the resume).
        const decideAndDie = random() < 0.25;
        const child = startNode(dir, decideAndDie);
        if (decideAndDie) await Promise.race([child.exited, sleep(3_000)]);
        // Else mostly after the node is up; one in five at any time from its spawn (maybe mid-start).
        else if (random() < 0.2) await sleep(Math.floor(random() * 1_200));
        else {
          await child.ready;
          await sleep(Math.floor(random() * 1_200));
        }
        if (child.process.exitCode !== null) {
          finished = await child.done;
          assert.ok(finished, `the node exited by itself: ${child.stderr()}`);
          break;
        }
        if (child.process.signalCode === null) child.process.kill('SIGKILL');
        else selfKills++;
        await child.exited;
        kills++;
        const store = await SqliteRunStore.open({ path: dbPath });
        const found = await phases(store);
        await store.close();
        at.model += found.model;
        at.tool += found.tool;
        at.approval += found.approval;
      }
      if (!finished) {
        const child = startNode(dir);
        const timer = setTimeout(() => child.process.kill('SIGKILL'), 60_000);
        finished = await child.done;
        clearTimeout(timer);
        await child.exited;
        assert.ok(finished, `the last start did not finish every run: ${child.stderr().slice(-4000)}`);
      }

      const ids = JSON.parse(readFileSync(join(dir, 'run-ids.json'), 'utf8')) as string[];
      const store = await SqliteRunStore.open({ path: dbPath });
      const calls = new Map<string, CallFacts>(); // `${runId} ${callId}`
      const runOf = new Map(ids.map((id, i) => [`w-${i}`, id]));
      const approvals = new Map<string, ApprovalRecord>();
      for (let page = await store.listApprovals(undefined, { limit: 1_000 }); page.length > 0; ) {
        for (const a of page) approvals.set(a.id, a);
        page = await store.listApprovals(undefined, { limit: 1_000, after: page.at(-1)?.id });
      }
      let resumes = 0;
      const resumeSeqs = new Map<string, number[]>();
      for (const id of ids) {
        const run = await store.get(undefined, id);
        assert.equal(run?.status, 'completed', `run ${id} is ${run?.status}: ${JSON.stringify(run?.error)}`);
        const seqs: number[] = [];
        for (const event of await store.events(undefined, id)) {
          const { body } = event;
          const facts = (callId: string, tool: string) => {
            const key = `${id} ${callId}`;
            let f = calls.get(key);
            if (f === undefined) {
              f = { tool, starts: [], results: [], interrupted: [], executions: [] };
              calls.set(key, f);
            }
            return f;
          };
          if (body.type === 'model-response' && body.message.role === 'assistant')
            for (const c of body.message.toolCalls ?? []) facts(c.id, c.name);
          else if (body.type === 'tool-start') facts(body.callId, body.name).starts.push(event.seq);
          else if (body.type === 'tool-result') calls.get(`${id} ${body.callId}`)?.results.push(event);
          else if (body.type === 'approval-request' && body.kind === 'interrupted') {
            const approval = approvals.get(body.approvalId);
            assert.ok(approval, `the interrupted call's approval ${body.approvalId} is kept`);
            calls.get(`${id} ${body.callId}`)?.interrupted.push(approval);
          } else if (body.type === 'status' && body.status === 'running') seqs.push(event.seq);
        }
        resumeSeqs.set(id, seqs);
        resumes += seqs.length;
      }
      let executions = 0;
      for (const line of readFileSync(join(dir, 'executions.log'), 'utf8').split('\n')) {
        if (line === '') continue;
        const [ms, agentId, callId, tool] = line.split(' ');
        const runId = runOf.get(agentId as string);
        const f = calls.get(`${runId} ${callId}`);
        assert.ok(f, `an execution of ${tool} ${callId} belongs to a recorded model response`);
        assert.equal(f.tool, tool);
        f.executions.push(Number(ms));
        executions++;
      }
      assert.equal(approvals.size > 0 && [...approvals.values()].every((a) => a.status !== 'pending'), true);

      let reruns = 0;
      let interruptedAsked = 0;
      let interruptedApproved = 0;
      let idempotentReruns = 0;
      for (const [key, f] of calls) {
        assert.equal(f.results.length, 1, `${key}: one result`);
        const result = f.results[0] as RunEvent;
        // Every execution followed a tool-start of its own, and none came after the result.
        assert.ok(
          f.executions.length <= f.starts.length,
          `${key}: ${f.executions.length} runs, ${f.starts.length} starts`,
        );
        assert.ok(
          f.starts.every((s) => s < result.seq),
          `${key}: started again after its result`,
        );
        assert.ok(
          f.executions.every((ms) => ms <= result.at),
          `${key}: ran after its result was recorded`,
        );
        const refused =
          result.body.type === 'tool-result' &&
          result.body.message.role === 'tool' &&
          result.body.message.content.includes('TOOL_REJECTED');
        if (!refused && f.interrupted.length === 0) assert.ok(f.executions.length >= 1, `${key}: never ran`);
        reruns += Math.max(0, f.executions.length - 1);
        interruptedAsked += f.interrupted.length;
        const approved = f.interrupted.filter((a) => a.status === 'approved');
        interruptedApproved += approved.length;
        if (f.tool === 'lookup') {
          assert.equal(f.interrupted.length, 0, `${key}: an idempotent call is never asked about`);
          // A second start only across a resume.
          const seqs = resumeSeqs.get(key.split(' ')[0] as string) ?? [];
          for (let i = 1; i < f.starts.length; i++) {
            const [a, b] = [f.starts[i - 1] as number, f.starts[i] as number];
            assert.ok(
              seqs.some((s) => s > a && s < b),
              `${key}: started twice without a crash between`,
            );
          }
          idempotentReruns += Math.max(0, f.executions.length - 1);
        } else {
          assert.ok(
            f.starts.length <= 1 + approved.length,
            `${key}: ${f.starts.length} starts, ${approved.length} approved re-runs`,
          );
          assert.ok(f.executions.length <= 1 + approved.length, `${key}: ran ${f.executions.length} times`);
          // Each approved retry covers one execution: at most one between it and the next.
          const decided = approved.map((a) => a.decidedAt as number).sort((a, b) => a - b);
          for (let i = 0; i < decided.length; i++) {
            const from = decided[i] as number;
            const to = decided[i + 1] ?? Number.POSITIVE_INFINITY;
            const ran = f.executions.filter((ms) => ms >= from && ms < to).length;
            assert.ok(ran <= 1, `${key}: ran ${ran} times after a retry was approved`);
          }
          if (f.interrupted.length > 0 && approved.length === 0)
            assert.ok(refused, `${key}: a rejected retry is skipped`);
        }
        if (f.tool === 'refund') {
          const asked = [...approvals.values()].find(
            (a) => a.callId === key.split(' ')[1] && (a.kind ?? 'approval') === 'approval',
          );
          if (asked !== undefined && asked.status !== 'approved')
            assert.equal(f.executions.length, 0, `${key}: a rejected call never runs`);
        }
      }
      await store.close();
      const summary = {
        seed: SEED,
        kills,
        killedAfterADecision: selfKills,
        killedIn: at,
        runs: ids.length,
        toolCalls: calls.size,
        executions,
        reruns,
        idempotentReruns,
        interruptedAsked,
        interruptedApproved,
        approvals: approvals.size,
        resumes,
      };
      console.log(`crash-resume: ${JSON.stringify(summary)}`);
      assert.ok(kills >= 3, 'the node was killed several times');
      assert.ok(
        at.tool > 0 && at.model > 0 && at.approval > 0,
        `kills landed in every phase: ${JSON.stringify(at)}`,
      );
    } finally {
      if (process.env.CRASH_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
      else console.log(`crash-resume: kept ${dir}`);
    }
  });
});

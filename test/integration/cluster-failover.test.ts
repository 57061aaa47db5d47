// Failover (issue 18): three node processes in one cluster on loopback NATS (lease 2 s). Under a
// load of state writes through the two nodes that live, the node with the most agents is
// SIGKILLed while its durable runs are in their second tool call. Then: its agents answer
// again from a survivor; every write that was acknowledged is in the agents' state; each run
// finishes on a survivor from its checkpoint, its recorded (not idempotent) tool call not run
// again; every agent is active on one live node. The figures go to the console
// (`cluster-failover: {...}`); buckets are deleted afterwards. One node's wall clock is 10
// minutes fast, and changes none of this.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { allJoined, call, dropCluster, type NodeProcess, owners, startNode } from './cluster-harness.ts';
import { serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const LEASE_MS = 2_000;
const ECHOES = 24;
const WORKERS = 9;
const SKEW_MS = 600_000;
const name = `failover${randomBytes(4).toString('hex')}`;
const workDir = mkdtempSync(join(tmpdir(), 'agentfleet-failover-'));
const nodes: NodeProcess[] = [];

after(async () => {
  for (const node of nodes) node.child.kill('SIGTERM');
  await Promise.all(nodes.map((node) => node.exited));
  if (skip === undefined) await dropCluster(name);
  rmSync(workDir, { recursive: true, force: true });
});

const executions = () =>
  readFileSync(join(workDir, 'executions.log'), { encoding: 'utf8', flag: 'a+' })
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [node, agent, callId, tool] = line.split(' ');
      return { node, agent, callId, tool };
    });

it('SIGKILL a node under load: its agents answer again, acknowledged writes are kept, its runs resume', {
  skip,
}, async () => {
  // fc's wall clock is 10 minutes fast: leases expire on the NATS server's clock, not a node's.
  for (const id of ['fa', 'fb', 'fc'])
    nodes.push(await startNode(id, name, LEASE_MS, workDir, id === 'fc' ? SKEW_MS : 0));
  await allJoined(nodes, 3);
  const entry = nodes[0]!;
  for (let i = 0; i < ECHOES; i++)
    assert.equal(
      (await call(entry.port, 'POST', '/v1/agents', { definition: 'echo', id: `e${i}` })).status,
      201,
    );
  for (let i = 0; i < WORKERS; i++)
    assert.equal(
      (await call(entry.port, 'POST', '/v1/agents', { definition: 'worker', id: `w${i}` })).status,
      201,
    );
  const before = await owners(entry.port);
  // The victim: whichever of the other two nodes has more agents (the entry node lives).
  const counts = (id: string) => [...before.values()].filter((node) => node === id).length;
  const victim = nodes.slice(1).sort((x, y) => counts(y.id) - counts(x.id))[0]!;
  const survivors = nodes.filter((n) => n !== victim);
  const victimEchoes = [...before]
    .filter(([id, node]) => node === victim.id && id.startsWith('e'))
    .map(([id]) => id);
  const victimWorkers = [...before]
    .filter(([id, node]) => node === victim.id && id.startsWith('w'))
    .map(([id]) => id);
  assert.ok(
    victimEchoes.length > 0 && victimWorkers.length > 0,
    `the victim has agents: ${JSON.stringify([...before])}`,
  );

  // Load: four writers through the survivors, each write a new key of one echo agent's state.
  const acked = new Map<string, Set<string>>();
  const failures = new Map<string, number>();
  let writing = true;
  let seq = 0;
  const writer = async (w: number) => {
    while (writing) {
      const n = seq++;
      const agent = `e${n % ECHOES}`;
      const via = survivors[n % survivors.length]!;
      const key = `k${n}`;
      const reply = await call(via.port, 'PATCH', `/v1/agents/${agent}/state`, {
        values: { [key]: w },
      }).catch((error: Error) => ({ status: 0, body: { error: { code: error.message } } }));
      if (reply.status === 200) {
        if (!acked.has(agent)) acked.set(agent, new Set());
        acked.get(agent)!.add(key);
      } else {
        const code = String(reply.body?.error?.code ?? reply.status);
        failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    }
  };
  const writers = Array.from({ length: 4 }, (_, w) => writer(w));

  // The victim's runs start, through the entry node, and are killed in their second tool call.
  const replies = victimWorkers.map((id) =>
    call(entry.port, 'POST', `/v1/agents/${id}/messages`, { input: 'go' }, { timeoutMs: 60_000 }).catch(
      (error: Error) => ({
        status: 0,
        body: { error: { code: error.message } },
        runId: undefined,
      }),
    ),
  );
  for (let i = 0; i < 400; i++) {
    const slow = new Set(
      executions()
        .filter((e) => e.tool === 'slow')
        .map((e) => e.agent),
    );
    if (victimWorkers.every((id) => slow.has(id))) break;
    await sleep(10);
  }
  await sleep(200); // some writes to the victim's agents acknowledged
  victim.child.kill('SIGKILL');
  const killedAt = performance.now();
  await victim.exited;

  // The first answer from a new owner of one of the victim's agents.
  let failoverMs = Number.NaN;
  for (let i = 0; i < 600 && Number.isNaN(failoverMs); i++) {
    const reply = await call(entry.port, 'POST', `/v1/agents/${victimEchoes[0]}/messages`, {
      input: 'ping',
    }).catch(() => undefined);
    if (reply?.status === 200 && reply.body.output.node !== victim.id)
      failoverMs = performance.now() - killedAt;
    else await sleep(10);
  }
  assert.ok(!Number.isNaN(failoverMs), 'an agent of the killed node answers again');
  await sleep(500);
  writing = false;
  await Promise.all(writers);

  for (const id of victimEchoes) {
    const reply = await call(survivors[1]!.port, 'POST', `/v1/agents/${id}/messages`, { input: 'after' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.notEqual(reply.body.output.node, victim.id);
  }
  // Every acknowledged write is in the state, wherever the agent is now.
  let kept = 0;
  for (const [agent, keys] of acked) {
    const state = await call(entry.port, 'GET', `/v1/agents/${agent}/state`);
    for (const key of keys) assert.ok(key in state.body.values, `${agent} lost acknowledged ${key}`);
    kept += keys.size;
  }
  // Each run finished on a survivor; the recorded call was not run again.
  // The answers the senders got while the node died name their runs (a header, even on an error).
  const answered = await Promise.all(replies);
  const runs: Array<{ status: string; owner: string }> = [];
  for (const [i, id] of victimWorkers.entries()) {
    const named = answered[i]!.runId;
    assert.equal(typeof named, 'string', `${id}: the reply names its run`);
    let run: { id: string; status: string; owner: string } | undefined;
    for (let i = 0; i < 600; i++) {
      run = (await call(entry.port, 'GET', `/v1/runs/${named}`)).body;
      if (run?.status === 'completed') break;
      await sleep(20);
    }
    assert.equal(run?.status, 'completed', `${id}'s run finished: ${JSON.stringify(run)}`);
    assert.notEqual(run?.owner, victim.id);
    runs.push(run!);
  }
  const log = executions();
  for (const id of victimWorkers) {
    const recorded = log.filter((e) => e.agent === id && e.tool === 'record');
    assert.equal(recorded.length, 1, `${id}: the recorded call ran once`);
    assert.equal(recorded[0]!.node, victim.id);
    const slow = log.filter((e) => e.agent === id && e.tool === 'slow');
    assert.ok(
      slow.some((e) => e.node !== victim.id),
      `${id}: the interrupted idempotent call ran again on a survivor`,
    );
  }
  // One active copy per agent, on a live node.
  const now = await owners(entry.port);
  for (const [id, node] of now)
    assert.ok(node === null || survivors.some((s) => s.id === node), `${id} on ${node}`);
  const active = await Promise.all(survivors.map((s) => call(s.port, 'GET', '/v1/cluster')));
  assert.ok(active.reduce((sum, v) => sum + v.body.active, 0) <= ECHOES + WORKERS);
  console.log(
    `cluster-failover: ${JSON.stringify({
      leaseMs: LEASE_MS,
      victim: victim.id,
      skewed: 'fc',
      failoverMs: Math.round(failoverMs),
      writesAcknowledged: kept,
      writesRefused: Object.fromEntries(failures),
      victimAgents: victimEchoes.length + victimWorkers.length,
      runsResumed: runs.length,
      resumedOn: runs.map((run) => run.owner),
      runRepliesDuringKill: answered.map((r) => r.status),
    })}`,
  );
});

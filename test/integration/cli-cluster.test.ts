// `agentfleet serve --workers 2 --cluster nats://…` on loopback NATS 4222: two processes behind
// one port that serve as one server. Every request goes on a connection of its own, so the
// primary deals them to both workers in turn; an agent made through one answers through both,
// and its state reads back what was written, whichever worker is asked. Buckets deleted after.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dropCluster, call as harnessCall } from './cluster-harness.ts';
import { NATS_URL, serverSkipReason } from './servers.ts';

const skip = await serverSkipReason('NATS', 4222);
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const ADMIN = 'cli-cluster-admin-key-0123';
const name = `clitest${randomBytes(4).toString('hex')}`;

after(async () => {
  if (skip === undefined) await dropCluster(name);
});

const call = (port: number, method: string, path: string, body?: unknown) =>
  harnessCall(port, method, path, body, { authorization: `Bearer ${ADMIN}` });

/** Reads pino lines until `count` "agentfleet listening" lines; returns the port and the workers' pids. */
async function listening(child: ChildProcess, count: number): Promise<{ port: number; pids: Set<number> }> {
  const pids = new Set<number>();
  for await (const line of createInterface({ input: child.stdout! })) {
    const entry = JSON.parse(line) as { msg: string; port?: number; pid?: number };
    if (entry.msg !== 'agentfleet listening') continue;
    pids.add(entry.pid!);
    if (pids.size === count) return { port: entry.port!, pids };
  }
  throw new Error('the server exited before listening');
}

it('--workers 2 --cluster: one server; an agent made through one worker answers through both', {
  skip,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'agentfleet-cli-cluster-'));
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--cluster', `nats://${NATS_URL}`],
    {
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        AGENTFLEET_ADMIN_KEY: ADMIN,
        AGENTFLEET_CLUSTER_NAME: name,
        AGENTFLEET_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const { port } = await listening(child, 2);
    const made = await call(port, 'POST', '/v1/agents', { definition: 'triage', id: 'ticket-bot' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const again = await call(port, 'POST', '/v1/agents', { definition: 'triage', id: 'ticket-bot' });
    assert.equal(again.status, 409, 'one agent of that id in the whole cluster, whichever worker is asked');
    for (let i = 0; i < 8; i++) {
      const reply = await call(port, 'POST', '/v1/agents/ticket-bot/messages', {
        input: { priority: 'low', topic: 'refund' },
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal((reply.body.output as { value: string }).value, 'billing', JSON.stringify(reply.body));
    }
    const patched = await call(port, 'PATCH', '/v1/agents/ticket-bot/state', { values: { seen: 8 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    for (let i = 0; i < 4; i++) {
      const read = await call(port, 'GET', '/v1/agents/ticket-bot/state');
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.deepEqual(
        (read.body as { values: unknown }).values,
        { seen: 8 },
        'the state written, on either worker',
      );
    }
    const listed = await call(port, 'GET', '/v1/agents');
    const ids = (listed.body.agents as Array<{ id: string; node?: string }>).map((a) => a.id);
    assert.deepEqual(ids, ['ticket-bot'], 'listed once, by every worker');
    for (let i = 0; i < 2; i++) {
      const info = await call(port, 'GET', '/v1/agents/ticket-bot');
      assert.equal((info.body as { handled: number }).handled, 8, 'one active copy handled every message');
    }
    const removed = await call(port, 'DELETE', '/v1/agents/ticket-bot');
    assert.equal(removed.status, 200);
    for (let i = 0; i < 2; i++)
      assert.equal((await call(port, 'GET', '/v1/agents/ticket-bot')).status, 404, 'gone on every worker');
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    await rm(dataDir, { recursive: true, force: true });
  }
});

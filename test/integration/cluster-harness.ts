// Node processes of one cluster on loopback NATS (fixtures/cluster-node.ts), for the failover
// test and bench: start them, talk to them over HTTP (a connection per request), and delete
// the cluster's buckets afterwards.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { NATS_URL } from './servers.ts';

const fixture = fileURLToPath(new URL('./fixtures/cluster-node.ts', import.meta.url));

/** A node process: its id, HTTP port and child process. */
export interface NodeProcess {
  id: string;
  port: number;
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** Starts a node of cluster `name` (its wall clock `skewMs` off); resolves once it serves HTTP. */
export async function startNode(
  id: string,
  name: string,
  leaseMs: number,
  workDir: string,
  skewMs = 0,
): Promise<NodeProcess> {
  const child = spawn(process.execPath, [fixture, id, name, String(leaseMs), workDir, String(skewMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^ready (\d+)$/m.exec(out);
      if (ready) resolve(Number(ready[1]));
    });
    exited.then(() => reject(new Error(`node ${id} exited before it was ready`)));
  });
  return { id, port, child, exited };
}

/** One HTTP request with a JSON body, on a connection of its own (so a port's workers take turns). */
export function call(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  { timeoutMs = 30_000, authorization }: { timeoutMs?: number; authorization?: string } = {},
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
): Promise<{ status: number; body: any; runId?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/json',
          ...(authorization === undefined ? {} : { authorization }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          try {
            const runId = res.headers['x-agentfleet-run-id'];
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(text),
              ...(typeof runId === 'string' ? { runId } : {}),
            });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Waits (bounded) until every node sees `count` members. */
export async function allJoined(nodes: readonly NodeProcess[], count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const views = await Promise.all(nodes.map((n) => call(n.port, 'GET', '/v1/cluster')));
    if (views.every((v) => v.body.members?.length === count)) return;
    await sleep(50);
  }
  throw new Error(`the nodes did not see ${count} members`);
}

/** Where each agent is active (from the directory, through node `port`). */
export async function owners(port: number): Promise<Map<string, string | null>> {
  const listed = await call(port, 'GET', '/v1/agents?limit=10000');
  return new Map(
    (listed.body.agents as Array<{ id: string; node: string | null }>).map((a) => [a.id, a.node]),
  );
}

/** Deletes the JetStream buckets of cluster `name` (its leases, agents, tenants' definitions and runs). */
export async function dropCluster(name: string): Promise<void> {
  const nc = await connect({ servers: NATS_URL });
  try {
    const kvm = new Kvm(nc);
    for (const suffix of ['leases', 'agents', 'definitions', 'runs', 'approvals', 'conversations'])
      await kvm
        .open(`${name}-${suffix}`)
        .then((kv) => kv.destroy())
        .catch(() => undefined);
  } finally {
    await nc.close();
  }
}

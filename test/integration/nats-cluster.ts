// A three-server NATS cluster of a test's own (`nats-server` on PATH), JetStream on, each server
// with its own store folder, on free loopback ports; close() kills every server and removes the folders.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, sleep } from '../helpers.ts';

/** One server of the cluster. */
export interface ClusterServer {
  readonly name: string;
  /** Client address, `127.0.0.1:<port>`, as a connection's `getServer()` reports it. */
  readonly address: string;
  readonly url: string;
  /** Whether the process still runs. */
  alive(): boolean;
  /** SIGKILLs the server (no goodbye to clients or routes) and waits for it to exit. */
  kill(): Promise<void>;
}

export interface NatsCluster {
  readonly servers: readonly ClusterServer[];
  /** Every client URL, comma-separated, as an Agentfleet `bus`/`runs` setting takes them. */
  readonly urls: string;
  /** Kills every server still running, then removes the store folders. */
  close(): Promise<void>;
}

/** Why a test that starts its own NATS cluster cannot run here, or undefined (a failure under CI=true). */
export function natsServerSkipReason(): string | undefined {
  if (spawnSync('nats-server', ['--version']).error === undefined) return undefined;
  if (process.env.CI === 'true') throw new Error('CI=true and no nats-server binary on PATH');
  return 'no nats-server binary on PATH';
}

/**
 * Starts three routed servers (cluster `af-test`, servers `n1`…`n3`) and waits, up to
 * `readyMs` (default 20,000), until every server sees the other two and an R3 stream can be made.
 */
export async function startNatsCluster(options: { readyMs?: number } = {}): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'af-nats-cluster-'));
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  // A test runner that dies must not leave servers behind: killed synchronously on exit.
  const onExit = () => {
    for (const child of children) if (running(child)) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const close = async () => {
    process.off('exit', onExit);
    await Promise.all(children.map(killAndWait));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: Array<{ client: number; route: number }> = [];
    for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), route: await freePort() });
    const servers: ClusterServer[] = ports.map(({ client, route }, i) => {
      const name = `n${i + 1}`;
      const routes = ports.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p.route}`);
      const child = spawn(
        'nats-server',
        [
          ...['-a', '127.0.0.1', '-p', `${client}`, '--server_name', name],
          ...['-js', '-sd', join(dir, name)],
          ...['--cluster', `nats://127.0.0.1:${route}`, '--cluster_name', 'af-test'],
          ...['--routes', routes.join(',')],
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.push(child);
      logs[i] = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        logs[i] = (logs[i]! + chunk.toString()).slice(-4_000);
      });
      return {
        name,
        address: `127.0.0.1:${client}`,
        url: `nats://127.0.0.1:${client}`,
        alive: () => running(child),
        kill: () => killAndWait(child),
      };
    });
    await waitReady(servers, options.readyMs ?? 20_000, () =>
      servers.map((s, i) => `${s.name}${s.alive() ? '' : ' (exited)'}: ${logs[i]!.slice(-600)}`).join('\n'),
    );
    return { servers, urls: servers.map((s) => s.url).join(','), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Each server routed to the other two (its client URLs list all three), then an R3 stream made and removed. */
async function waitReady(servers: readonly ClusterServer[], readyMs: number, log: () => string) {
  const deadline = Date.now() + readyMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (servers.some((s) => !s.alive())) break;
    try {
      for (const server of servers) {
        const nc = await connect({ servers: server.url, timeout: 1_000, reconnect: false });
        try {
          const known = nc.info?.connect_urls?.length ?? 0;
          if (known < servers.length) throw new Error(`${server.name} knows ${known} servers`);
        } finally {
          await nc.close();
        }
      }
      const nc = await connect({ servers: servers.map((s) => s.url), timeout: 1_000 });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 });
        await jsm.streams.add({ name: 'af-ready', subjects: ['af.ready'], num_replicas: 3 });
        await jsm.streams.delete('af-ready');
        return;
      } finally {
        await nc.close();
      }
    } catch (error) {
      last = error;
      await sleep(200);
    }
  }
  throw new Error(`the NATS cluster did not form in ${readyMs} ms: ${String(last)}\n${log()}`);
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

// /act requests/s and p99 latency under wrk (or autocannon when wrk is missing), against bare
// node:http doing the same JSON and, when `go` is installed, Go net/http, all in one run.
// `--workers 2` is a cluster on the loopback NATS (4222), as more than one worker must be.
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropCluster } from '../test/integration/cluster-harness.ts';
import { buildGo } from './go.ts';
import { CONNECTIONS, freePort, type Load, load, waitUp } from './http-load.ts';
import { type BenchReport, printReport, round } from './report.ts';

const DURATION_S = Number(process.env.BENCH_HTTP_SECONDS ?? 10);
const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(tmpdir(), `agentfleet-act-http-${process.pid}`);

async function measure(
  name: string,
  start: (port: number) => ChildProcess,
): Promise<Load & { name: string }> {
  const port = await freePort();
  const child = start(port);
  try {
    await waitUp(port);
    await load(port, 2); // warm-up: JIT, connection setup
    return { name, ...(await load(port, DURATION_S)) };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

const node = (args: string[], env: Record<string, string> = {}) =>
  spawn(process.execPath, args, {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, LOG_LEVEL: 'warn', AGENTFLEET_PUBLIC_ACT: 'true', ...env },
  });

export async function runActHttpBench(): Promise<BenchReport> {
  const results: Array<Load & { name: string }> = [];
  const serve = (workers: number) => (port: number) =>
    node(
      [
        'src/cli.ts',
        'serve',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--workers',
        String(workers),
        // More than one worker is a cluster (on the loopback NATS), or it would split agents.
        ...(workers > 1 ? ['--cluster', process.env.NATS_URL ?? 'nats://127.0.0.1:4222'] : []),
      ],
      workers > 1 ? { AGENTFLEET_CLUSTER_NAME: `bench${process.pid}`, AGENTFLEET_DATA_DIR: dataDir } : {},
    );
  const bare = (workers: number) => (port: number) =>
    node(['bench/servers/bare-http.ts', String(port), String(workers)]);
  results.push(await measure('bare node:http, 1 process', bare(1)));
  results.push(await measure('agentfleet, 1 process', serve(1)));
  results.push(await measure('bare node:http, 2 workers', bare(2)));
  try {
    results.push(await measure('agentfleet --workers 2', serve(2)));
  } finally {
    await dropCluster(`bench${process.pid}`);
    await rm(dataDir, { recursive: true, force: true });
  }
  const binary = buildGo('servers/act.go');
  if (binary !== undefined) {
    results.push(await measure('Go net/http', (port) => spawn(binary, [String(port)], { stdio: 'ignore' })));
  }
  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  const bare1 = byName['bare node:http, 1 process']!;
  const ours1 = byName['agentfleet, 1 process']!;
  const ours2 = byName['agentfleet --workers 2']!;
  const go = byName['Go net/http'];
  return {
    name: 'act-http',
    measures: `GET /act with X-Trusted: true, ${CONNECTIONS} connections, ${DURATION_S}s after a 2s warm-up, load generator on the same 2 cores`,
    rows: results.map((r) => ({
      server: r.name,
      'requests/s': Math.round(r.rps),
      'p99 ms': round(r.p99ms),
      'vs bare node (1 proc)': round(r.rps / bare1.rps),
      tool: r.tool,
    })),
    figures: {
      oursToBareSingle: round(ours1.rps / bare1.rps),
      workers2ToBareSingle: round(ours2.rps / bare1.rps),
      ...(go === undefined
        ? { go: 'not installed' }
        : { goRequestsPerSecond: Math.round(go.rps), workers2ToGo: round(ours2.rps / go.rps) }),
    },
  };
}

if (import.meta.main) printReport(await runActHttpBench());

// Shared HTTP load generation for the /act benchmarks: wrk when installed, else autocannon.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { has } from './go.ts';

export const CONNECTIONS = 64;

export interface Load {
  rps: number;
  p99ms: number;
  /** Requests completed in the run. */
  requests: number;
  tool: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function waitUp(port: number, path = '/act'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server on ${port} never came up`);
}

function toMs(value: string): number {
  const n = Number.parseFloat(value);
  return value.endsWith('us') ? n / 1000 : value.endsWith('ms') ? n : n * 1000;
}

/** Drives GET `path` with `headers` for `seconds`; fails on any non-2xx answer. */
export async function load(
  port: number,
  seconds: number,
  headers: Record<string, string> = { 'X-Trusted': 'true' },
  path = '/act',
): Promise<Load> {
  const url = `http://127.0.0.1:${port}${path}`;
  if (has('wrk')) {
    const flags = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    const out = execFileSync(
      'wrk',
      ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...flags, url],
      {
        encoding: 'utf8',
      },
    );
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    const p99 = /\s99%\s+([\d.]+\w+)/.exec(out)?.[1];
    if (!rps || p99 === undefined || /Non-2xx/.test(out))
      throw new Error(`wrk output not understood:\n${out}`);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
    return { rps, p99ms: toMs(p99), requests, tool: `wrk -t2 -c${CONNECTIONS}` };
  }
  const { default: autocannon } = await import('autocannon');
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  if (result.non2xx > 0) throw new Error(`${result.non2xx} non-2xx responses`);
  return {
    rps: result.requests.average,
    p99ms: result.latency.p99,
    requests: result.requests.total,
    tool: `autocannon -c${CONNECTIONS}`,
  };
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** The middle value (upper middle for an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A server process (`agentfleet serve`, public `/act`) that a bench drives with wrk. */
export interface ServerProcess {
  port: number;
  /** Drives GET /act with wrk; adds the server's own CPU µs per request (from /proc). */
  load(seconds: number, headers?: Record<string, string>): Promise<Load & { cpuUs: number }>;
  stop(): Promise<void>;
}

/** Starts `agentfleet serve` on a free port with `/act` public and the given admin key, and waits until it answers. */
export async function startServerProcess(adminKey: string): Promise<ServerProcess> {
  const port = await freePort();
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(
    process.execPath,
    ['src/cli.ts', 'serve', '--port', String(port), '--host', '127.0.0.1'],
    {
      cwd: root,
      stdio: 'ignore',
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        AGENTFLEET_PUBLIC_ACT: 'true',
        AGENTFLEET_ADMIN_KEY: adminKey,
      },
    },
  );
  await waitUp(port);
  return {
    port,
    async load(seconds, headers) {
      const before = processCpuMs(child.pid!);
      const result = await load(port, seconds, headers);
      return { ...result, cpuUs: ((processCpuMs(child.pid!) - before) * 1000) / result.requests };
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

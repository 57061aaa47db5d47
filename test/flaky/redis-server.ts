// A redis-server of a test's own, on a free loopback port, to kill and restart (a lost Redis).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from '../helpers.ts';

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: connections drop as in a crash) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted) and waits until it accepts connections. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Why a test that starts its own redis-server cannot run here, or undefined. Under CI=true a
 * missing binary is a failure, not a skip.
 */
export function redisBinarySkipReason(): string | undefined {
  if (spawnSync('redis-server', ['--version']).status === 0) return undefined;
  if (process.env.CI === 'true') throw new Error('CI=true and no redis-server binary on PATH');
  return 'no redis-server binary';
}

/** Starts `redis-server` (the binary on PATH) on a free port. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
      proc.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
    });
    proc.removeAllListeners('exit');
    proc.stdout!.removeAllListeners('data');
    proc.stdout!.resume();
  };
  const kill = async () => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, kill, start, close: kill };
}

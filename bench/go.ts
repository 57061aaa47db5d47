// Builds a Go program from bench/ when the `go` toolchain is installed, for same-run baselines.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** True when `command` is on PATH. */
export function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Compiles `bench/<relative>.go` and returns the binary's path, or undefined without Go. */
export function buildGo(relative: string): string | undefined {
  if (!has('go')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'agentfleet-go-'));
  const binary = join(dir, 'program');
  execFileSync('go', ['build', '-o', binary, join(root, 'bench', relative)], {
    env: { ...process.env, GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GO111MODULE: 'off' },
  });
  return binary;
}

import { spawnSync } from 'node:child_process';

/**
 * Runs a bench script in a fresh Node process (its own heap) and returns its last `RESULT:` line
 * as JSON. With `progress`, the child's stderr goes straight to ours (for long runs).
 */
export function runChild<T>(
  script: string,
  args: string[],
  nodeFlags: string[] = [],
  { progress = false }: { progress?: boolean } = {},
): T {
  const child = spawnSync(process.execPath, [...nodeFlags, script, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', progress ? 'inherit' : 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = child.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT:'));
  if (child.status !== 0 || line === undefined) {
    const stderr = child.stderr?.slice(-2000) ?? '(stderr shown above)';
    throw new Error(`${script} ${args.join(' ')} failed (${child.status ?? child.signal}): ${stderr}`);
  }
  return JSON.parse(line.slice('RESULT:'.length)) as T;
}

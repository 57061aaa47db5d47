import { spawnSync } from 'node:child_process';

/** Runs a bench script in a fresh Node process (its own heap) and returns its last `RESULT:` line as JSON. */
export function runChild<T>(script: string, args: string[], nodeFlags: string[] = []): T {
  const child = spawnSync(process.execPath, [...nodeFlags, script, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = child.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT:'));
  if (child.status !== 0 || line === undefined) {
    throw new Error(`${script} ${args.join(' ')} failed (${child.status}): ${child.stderr.slice(-2000)}`);
  }
  return JSON.parse(line.slice('RESULT:'.length)) as T;
}

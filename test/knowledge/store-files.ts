// Helpers for tests that look at a knowledge store's files directly.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';

/** Lines in the store's format: `<crc chain> <json>\n` each. */
export function checksummed(payloads: readonly string[]): string {
  let crc = 0;
  return payloads
    .map((p) => {
      crc = crc32(p, crc);
      return `${crc.toString(16).padStart(8, '0')} ${p}\n`;
    })
    .join('');
}

/** Bytes of every file in the directory. */
export function bytesOnDisk(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/** Every file of the directory, by name, as text. */
export function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

/** One acknowledged upsert of `ingest-worker.ts`. */
export interface Ack {
  id: string;
  version: number;
}

/**
 * Runs `ingest-worker.ts` on `dir` with `args`, SIGKILLs it after `killAfter` acknowledgements
 * (or calls `onAck` to decide), and resolves with every acknowledgement it printed.
 */
export async function ingestAndKill(
  dir: string,
  args: readonly string[],
  killAfter: number,
  onFirstAck?: (pid: number) => Promise<void>,
): Promise<Ack[]> {
  const worker = fileURLToPath(new URL('./ingest-worker.ts', import.meta.url));
  const child = spawn(process.execPath, [worker, dir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const acked: Ack[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    const [, id, version] = line.split(' ');
    acked.push({ id: id!, version: Number(version) });
    if (acked.length === 1 && onFirstAck !== undefined) await onFirstAck(child.pid!);
    if (acked.length === killAfter) child.kill('SIGKILL');
  }
  await exited;
  return acked;
}

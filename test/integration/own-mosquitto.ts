// A mosquitto of a test's own, on a free loopback port, with a password file and an ACL file.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers.ts';

export interface OwnMosquitto {
  readonly url: string;
  close(): Promise<void>;
}

/** Why a test that starts its own mosquitto cannot run here, or undefined (a failure under CI=true). */
export function mosquittoBinarySkipReason(): string | undefined {
  const ok =
    spawnSync('mosquitto', ['-h']).error === undefined &&
    spawnSync('mosquitto_passwd', ['-h']).error === undefined;
  if (ok) return undefined;
  if (process.env.CI === 'true')
    throw new Error('CI=true and no mosquitto / mosquitto_passwd binary on PATH');
  return 'no mosquitto binary';
}

/**
 * Starts `mosquitto` with `users` (name → password) and `acl` (the text of a mosquitto ACL
 * file), anonymous clients refused, and waits until it listens.
 */
export async function startOwnMosquitto(users: Record<string, string>, acl: string): Promise<OwnMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'af-mosquitto-'));
  const passwords = join(dir, 'passwd');
  await writeFile(passwords, '');
  for (const [user, password] of Object.entries(users)) {
    const r = spawnSync('mosquitto_passwd', ['-b', passwords, user, password]);
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
  }
  await writeFile(join(dir, 'acl'), acl);
  const port = await freePort();
  await writeFile(
    join(dir, 'mosquitto.conf'),
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwords}`,
      `acl_file ${join(dir, 'acl')}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type notice',
      'log_type information',
      '',
    ].join('\n'),
  );
  // Started as root, mosquitto drops to the `mosquitto` user, which must still read its files.
  await chmod(dir, 0o755);
  for (const file of ['passwd', 'acl', 'mosquitto.conf']) await chmod(join(dir, file), 0o644);
  const child: ChildProcess = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`mosquitto exited (${code}): ${log}`));
    child.once('exit', onExit);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('running')) {
        child.off('exit', onExit);
        resolve();
      }
    });
  });
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

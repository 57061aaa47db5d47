import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/** Reads pino lines until `count` "agentfleet listening" lines, returning the port. */
async function listening(child: ChildProcess, count = 1): Promise<number> {
  let seen = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    const entry = JSON.parse(line) as { msg: string; port?: number };
    if (entry.msg === 'agentfleet listening' && ++seen === count) return entry.port!;
  }
  throw new Error('the server exited before listening');
}

async function act(port: number, authorization?: string): Promise<{ status: string }> {
  const headers: Record<string, string> = { 'x-trusted': 'true' };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(`http://127.0.0.1:${port}/act`, { headers });
  return (await res.json()) as { status: string };
}

const ADMIN = 'cli-test-admin-key-0123';

describe('agentfleet CLI', () => {
  it('serves, then exits 0 on SIGTERM; /act needs a key unless it is made public', async () => {
    const child = run(['serve', '--port', '0', '--host', '127.0.0.1'], { AGENTFLEET_ADMIN_KEY: ADMIN });
    const port = await listening(child);
    const refused = await fetch(`http://127.0.0.1:${port}/act`);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await act(port, `Bearer ${ADMIN}`)).status, 'EXECUTED');
    const code = exited(child);
    child.kill('SIGTERM');
    assert.equal(await code, 0);
  });

  it('serves with --workers 2 on one port and exits 0 on SIGINT', async () => {
    const child = run(['serve', '--port', '0', '--host', '127.0.0.1', '--workers', '2'], {
      AGENTFLEET_PUBLIC_ACT: 'true',
    });
    const port = await listening(child, 2);
    const replies = await Promise.all(Array.from({ length: 20 }, () => act(port)));
    assert.ok(replies.every((r) => r.status === 'EXECUTED'));
    const code = exited(child);
    child.kill('SIGINT');
    assert.equal(await code, 0);
  });

  it('exits 2 with a clear message on bad config or flags', async () => {
    const bad = run(['serve'], { PORT: 'eighty' });
    let stderr = '';
    bad.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    assert.equal(await exited(bad), 2);
    assert.match(stderr, /CONFIG_INVALID|Invalid server configuration.*PORT="eighty"/);
    assert.equal(await exited(run(['serve', '--bogus'])), 2);
    assert.equal(await exited(run(['launch'])), 2);
    assert.equal(await exited(run(['--help'])), 0);
  });
});

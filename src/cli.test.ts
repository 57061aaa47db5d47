import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('refuses --workers 2 without a cluster (they would split agents and state), exit 2', async () => {
    const { stderr, code } = await output(run(['serve', '--port', '0', '--workers', '2']));
    assert.equal(code, 2);
    assert.match(stderr, /workers: 2 workers need a cluster/);
  });

  it('validate: 0 for the example fleet, 1 naming the bad file for a bad spec', async () => {
    assert.equal(await exited(run(['validate', fileURLToPath(new URL('../agents', import.meta.url))])), 0);
    const dir = await mkdtemp(join(tmpdir(), 'agentfleet-validate-'));
    try {
      await writeFile(join(dir, 'bad.yaml'), 'name: bad\ncognition:\n  type: telepathy\n');
      const { stderr, code } = await output(run(['validate', dir]));
      assert.equal(code, 1);
      assert.match(stderr, /bad\.yaml/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
    const shared = run(['serve', '--workers', '2'], { AGENTFLEET_KNOWLEDGE_DIR: '/nonexistent/kb' });
    let sharedErr = '';
    shared.stderr!.on('data', (chunk) => {
      sharedErr += chunk;
    });
    assert.equal(await exited(shared), 2, 'one knowledge directory cannot serve two workers');
    assert.match(sharedErr, /knowledge directory.*one process/);
    assert.equal(await exited(run(['launch'])), 2);
    assert.equal(await exited(run(['--help'])), 0);
  });

  it('a corrupt knowledge store: one JSON log line with the code and file, exit 1, no stack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentfleet-corrupt-'));
    try {
      await writeFile(
        join(dir, 'log.jsonl'),
        '{"op":"delete","tenant":"a","id":"x"}\nthis is not json\n{"op":"delete","tenant":"a","id":"y"}\n',
      );
      const child = run(['serve', '--port', '0', '--host', '127.0.0.1'], {
        AGENTFLEET_ADMIN_KEY: ADMIN,
        AGENTFLEET_KNOWLEDGE_DIR: dir,
      });
      const { stdout, stderr, code } = await output(child);
      assert.equal(code, 1);
      const lines = `${stdout}${stderr}`.split('\n').filter((l) => l.trim() !== '');
      const failures = lines.filter((l) => l.includes('KNOWLEDGE_STORE_CORRUPT'));
      assert.equal(failures.length, 1, `one line names the failure:\n${lines.join('\n')}`);
      const entry = JSON.parse(failures[0]!) as { code: string; msg: string; hint?: string; level: number };
      assert.equal(entry.code, 'KNOWLEDGE_STORE_CORRUPT');
      assert.equal(entry.level, 60, 'fatal');
      assert.match(entry.msg, /log\.jsonl line 2/);
      assert.equal(typeof entry.hint, 'string');
      assert.doesNotMatch(`${stdout}${stderr}`, /\n\s+at /, 'no stack trace');
      for (const line of lines) JSON.parse(line); // every line is JSON
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--workers 2 restarts failing workers with growing delays, then gives up and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentfleet-corrupt-'));
    try {
      await writeFile(join(dir, 'tenants.json'), 'garbage\n');
      // The workers fail on the tenants file before they reach NATS (which need not be up).
      const cluster = ['--cluster', 'nats://127.0.0.1:4222'];
      const child = run(['serve', '--port', '0', '--host', '127.0.0.1', '--workers', '2', ...cluster], {
        AGENTFLEET_ADMIN_KEY: ADMIN,
        AGENTFLEET_TENANTS: `file:${join(dir, 'tenants.json')}`,
        AGENTFLEET_WORKER_RESTART_BASE_MS: '20',
        AGENTFLEET_WORKER_RESTART_LIMIT: '4',
      });
      const { stdout, code } = await output(child);
      assert.equal(code, 1);
      const entries = stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { msg: string; restart?: number; delayMs?: number; failures?: number });
      const restarts = entries.filter((e) => e.msg === 'worker exited; restarting it after a delay');
      assert.deepEqual(
        restarts.map((e) => e.restart),
        [1, 2, 3, 4],
        'a restart per quick failure, up to the limit',
      );
      assert.deepEqual(
        restarts.map((e) => e.delayMs),
        [20, 40, 80, 160],
        'the delay doubles',
      );
      const gaveUp = entries.filter((e) => /giving up/.test(e.msg));
      assert.equal(gaveUp.length, 1);
      assert.equal(gaveUp[0]!.failures, 4);
      const workerFailures = entries.filter((e) => /could not start/.test(e.msg));
      assert.ok(workerFailures.length >= 5, 'each worker said why it failed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Everything a child prints, and its exit code. */
async function output(child: ChildProcess): Promise<{ stdout: string; stderr: string; code: number | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { stdout, stderr, code };
}

// `agentfleet` works as a command from the packed package and from a checkout without a build:
// `npm pack` (which builds through prepack), installed with production dependencies only into a
// temporary project, then `npx agentfleet --version` and `agentfleet serve` answering /healthz;
// the same through bin/agentfleet.js in this checkout. Takes about a minute (build + install).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, string | { types: string; default: string }>;
};
/** The pinned Node first on PATH: the bin's `#!/usr/bin/env node` must find it, not an older one. */
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  LOG_LEVEL: 'info',
  AGENTFLEET_ADMIN_KEY: 'pack-test-admin-key-0123',
};

/** Runs `agentfleet serve` on a free port, waits for it to listen, checks /healthz, stops it. */
async function servesHealthz(command: string, args: string[], cwd: string): Promise<void> {
  const child = spawn(command, [...args, 'serve', '--port', '0', '--host', '127.0.0.1'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const port = await listening(child);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200, await res.text());
  } catch (error) {
    throw new Error(`${String(error)}\nstderr: ${stderr}`);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, `exit code after SIGTERM; stderr: ${stderr}`);
}

/** The port from the first "agentfleet listening" log line on stdout. */
async function listening(child: ChildProcess): Promise<number> {
  for await (const line of createInterface({ input: child.stdout! })) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg: string; port?: number };
    if (entry.msg === 'agentfleet listening') return entry.port!;
  }
  throw new Error('the server exited before listening');
}

describe('the packed package', { timeout: 300_000 }, () => {
  let dir = '';
  let app = '';
  let files: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentfleet-pack-'));
    const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--json'], {
      cwd: ROOT,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed!.files.map((f) => f.path);
    app = join(dir, 'app');
    await mkdir(app);
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    );
    await run(
      'npm',
      ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed!.filename)],
      { cwd: app, env, maxBuffer: 64 * 1024 * 1024 },
    );
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('holds the bin, every exported entry, and no sources or tests', () => {
    assert.ok(files.includes('bin/agentfleet.js'));
    assert.ok(files.includes('dist/cli.js'));
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      for (const file of typeof target === 'string' ? [target] : [target.types, target.default]) {
        assert.ok(files.includes(file.slice(2)), `${subpath} → ${file} is not in the package`);
      }
    }
    const stray = files.filter(
      (f) => f.startsWith('src/') || f.startsWith('test/') || /\.test\.(js|d\.ts)$/.test(f),
    );
    assert.deepEqual(stray, []);
  });

  it('ships schemas/ and agents/ when the checkout has them', () => {
    for (const folder of ['schemas', 'agents']) {
      const inCheckout = existsSync(join(ROOT, folder))
        ? readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
            .filter((e) => e.isFile())
            .map((e) => join(e.parentPath, e.name).slice(ROOT.length))
        : [];
      for (const file of inCheckout) assert.ok(files.includes(file), `${file} is not in the package`);
    }
  });

  it('npx agentfleet --version prints the version', async () => {
    const { stdout } = await run('npx', ['--no-install', 'agentfleet', '--version'], { cwd: app, env });
    assert.equal(stdout.trim(), pkg.version);
  });

  it('agentfleet serve answers /healthz and exits 0 on SIGTERM', async () => {
    await servesHealthz(join(app, 'node_modules', '.bin', 'agentfleet'), [], app);
  });

  it('the root and every subpath load from the installed package, and typecheck', async () => {
    const subpaths = Object.keys(pkg.exports)
      .filter((s) => s !== './package.json')
      .map((s) => s.replace(/^\./, 'agentfleet'));
    const script = `for (const s of ${JSON.stringify(subpaths)}) await import(s);`;
    await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    // A consumer's TypeScript (not ours: no allowImportingTsExtensions) finds every declaration.
    const uses = subpaths.map((s, i) => `import * as m${i} from '${s}';\nconsole.log(Object.keys(m${i}));`);
    await writeFile(
      join(app, 'use.ts'),
      `${uses.join('\n')}\nimport { createRuntime } from 'agentfleet';\nconst n: number = createRuntime;\n`,
    );
    const compilerOptions = {
      module: 'nodenext',
      target: 'es2024',
      strict: true,
      noEmit: true,
      skipLibCheck: true, // the deliberate error below still needs the root's re-exports resolved
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
    };
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.ts'] }));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', app], { cwd: app, env }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    // The one deliberate error proves the check ran against the package's real types.
    const errors = checked.split('\n').filter((line) => line.includes('error TS'));
    assert.equal(errors.length, 1, checked);
    assert.match(errors[0]!, /use\.ts.*TS2322.*Runtime.*not assignable to type 'number'/);
  });
});

describe('the checkout, without a build', { timeout: 60_000 }, () => {
  it('npx agentfleet --version prints the version', async () => {
    const { stdout } = await run('npx', ['--no-install', 'agentfleet', '--version'], { cwd: ROOT, env });
    assert.equal(stdout.trim(), pkg.version);
  });

  it('bin/agentfleet.js serve answers /healthz and exits 0 on SIGTERM', async () => {
    await servesHealthz(process.execPath, [join(ROOT, 'bin', 'agentfleet.js')], ROOT);
  });

  it('bin/agentfleet.js refuses a Node without type stripping with a clear message', async (t) => {
    const old = '/usr/bin/node';
    const version = existsSync(old) ? (await run(old, ['--version'])).stdout.trim() : '';
    const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
    if (version === '' || major > 22 || (major === 22 && minor >= 18)) {
      t.skip(`no Node older than 22.18 at ${old}`);
      return;
    }
    const failed = await run(old, [join(ROOT, 'bin', 'agentfleet.js'), '--version']).then(
      () => assert.fail('an old Node ran the CLI'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /needs Node\.js >= 22\.18.*this is Node\.js 2\d\./);
  });
});

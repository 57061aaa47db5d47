import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime } from '../core/index.ts';
import { AgentsFolder, type AgentsFolderChange } from './agents-folder.ts';

function rulesSpec(name: string, decision: string, extra = ''): string {
  return `name: ${name}\ncognition:\n  type: rules\n  rules: []\n  otherwise: { decision: ${decision}, reason: because }\n${extra}`;
}

async function setUp(t: import('node:test').TestContext, watch = true) {
  const dir = await mkdtemp(join(tmpdir(), 'af-agents-'));
  await writeFile(join(dir, 'router.yaml'), rulesSpec('router', 'first', 'version: one\n'));
  const runtime = createRuntime();
  const changes = new EventEmitter();
  const seen: AgentsFolderChange[] = [];
  const folder = await AgentsFolder.open({
    dir,
    target: runtime,
    watch,
    debounceMs: 20,
    onChange: (change) => {
      seen.push(change);
      changes.emit('change', change);
    },
  });
  t.after(async () => {
    await runtime.close();
    await folder.close();
    await rm(dir, { recursive: true, force: true });
  });
  await runtime.spawn('router', { id: 'r1' });
  const reply = async (id = 'r1') => ((await runtime.send(id, {})) as { value: string }).value;
  const next = (outcome: AgentsFolderChange['outcome']) =>
    new Promise<AgentsFolderChange>((resolve) => {
      const on = (change: AgentsFolderChange) => {
        if (change.outcome !== outcome) return;
        changes.off('change', on);
        resolve(change);
      };
      changes.on('change', on);
    });
  return { dir, runtime, folder, reply, next, seen };
}

test('an edited spec file becomes the new current version without a restart', async (t) => {
  const { dir, folder, reply, next } = await setUp(t);
  assert.equal(await reply(), 'first');
  const before = folder.versions('router')?.current;
  assert.match(before?.version ?? '', /^one@[0-9a-f]{12}$/);
  const updated = next('updated');
  await writeFile(join(dir, 'router.yaml'), rulesSpec('router', 'second'));
  const change = await updated;
  assert.equal(change.name, 'router');
  assert.equal(await reply(), 'second', 'the running agent answers with the new version');
  const versions = folder.versions('router')!.versions();
  assert.deepEqual(
    versions.map((v) => [v.label, v.current]),
    [
      ['one', false],
      ['r2', true],
    ],
  );
});

test('a bad edit is refused and the running version serves on; a fix is then taken', async (t) => {
  const { dir, reply, folder } = await setUp(t, false);
  await writeFile(join(dir, 'router.yaml'), 'name: router\ncognition: { type: nope }\n');
  const [change] = await folder.reload();
  assert.equal(change?.outcome, 'invalid');
  assert.equal((change?.error as { code?: string } | undefined)?.code, 'SPEC_INVALID');
  assert.equal(await reply(), 'first');
  await writeFile(join(dir, 'router.yaml'), '{ not yaml: [');
  assert.equal((await folder.reload())[0]?.outcome, 'invalid');
  assert.equal(await reply(), 'first');
  await writeFile(join(dir, 'router.yaml'), rulesSpec('router', 'fixed'));
  assert.equal((await folder.reload())[0]?.outcome, 'updated');
  assert.equal(await reply(), 'fixed');
  assert.deepEqual(await folder.reload(), [], 'nothing changed: no new version');
});

test('a new file adds a definition; a deleted one is reported and serves on; duplicates are refused', async (t) => {
  const { dir, runtime, folder, reply } = await setUp(t, false);
  await writeFile(
    join(dir, 'other.json'),
    JSON.stringify({
      name: 'other',
      cognition: { type: 'rules', rules: [], otherwise: { decision: 'x', reason: 'r' } },
    }),
  );
  await writeFile(join(dir, 'twin.yaml'), rulesSpec('router', 'twin'));
  const changes = await folder.reload();
  assert.deepEqual(
    changes.map((c) => [c.name, c.outcome]),
    [
      ['other', 'added'],
      ['router', 'invalid'],
    ],
  );
  await runtime.spawn('other', { id: 'o1' });
  assert.equal(await reply('o1'), 'x');
  assert.equal(await reply(), 'first', 'the duplicate did not replace router');
  await unlink(join(dir, 'other.json'));
  await unlink(join(dir, 'twin.yaml'));
  assert.deepEqual(
    (await folder.reload()).map((c) => [c.name, c.outcome]),
    [['other', 'removed']],
  );
  assert.equal(await reply('o1'), 'x');
});

test('a change of concurrency re-registers the definition for agents created after it', async (t) => {
  const { dir, runtime, folder } = await setUp(t, false);
  await writeFile(join(dir, 'router.yaml'), rulesSpec('router', 'wide', 'concurrency: 7\n'));
  await folder.reload();
  await runtime.spawn('router', { id: 'r2' });
  assert.equal(((await runtime.send('r2', {})) as { value: string }).value, 'wide');
  assert.equal(runtime.definitions().find((d) => d.name === 'router')?.concurrency, 7);
});

test('a bad folder at start fails the open with SPEC_INVALID', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'af-agents-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'bad.yaml'), 'name: bad\n');
  const runtime = createRuntime();
  t.after(() => runtime.close());
  await assert.rejects(AgentsFolder.open({ dir, target: runtime }), { code: 'SPEC_INVALID' });
});

test('a staged version serves only when made current, and only until its file changes', async (t) => {
  const { dir, folder, reply } = await setUp(t, false);
  const staged = await folder.stage('router', rulesSpec('router', 'canary'), 'yaml');
  assert.equal(await reply(), 'first', 'staged, not current');
  await folder.setCurrent('router', staged.version);
  assert.equal(await reply(), 'canary');
  await assert.rejects(folder.stage('router', rulesSpec('other', 'x'), 'yaml'), { code: 'SPEC_INVALID' });
  await assert.rejects(folder.stage('ghost', rulesSpec('ghost', 'x'), 'yaml'), { code: 'SPEC_INVALID' });
  await assert.rejects(folder.setCurrent('router', 'nope'), { code: 'VERSION_NOT_FOUND' });
  await writeFile(join(dir, 'router.yaml'), rulesSpec('router', 'edited'));
  await folder.reload();
  assert.equal(await reply(), 'edited');
});

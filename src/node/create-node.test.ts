import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { liveResources, noMoreResourcesThan, rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import { withTenant } from '../context/index.ts';
import { defineAgent } from '../core/index.ts';
import { issueApiKey } from '../tenancy/index.ts';
import { createNode } from './index.ts';

const echo = defineAgent({ name: 'echo', decide: (x: unknown) => x });

/** Waits for an asynchronous condition (the file watch), failing after 10 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(await condition(), 'condition not met in 10 s');
}

describe('createNode', () => {
  it('works as a library with in-memory defaults, and close() leaves nothing behind', async () => {
    const baseline = liveResources();
    const node = await createNode({ logLevel: 'silent' }, { definitions: [echo] });
    await node.runtime.spawn('echo', { id: 'e1' });
    assert.equal(await node.send('e1', 'hi'), 'hi');
    assert.equal(
      (await node.send<{ status: string }>(node.actAgentId, { trustHeader: 'true' })).status,
      'EXECUTED',
    );
    assert.equal(node.bus.transport.name, 'memory');
    assert.equal(node.config.bus, 'memory');
    assert.ok(node.tenancy.authenticator, 'keys by default');
    assert.match(node.tenancy.generatedAdminKey ?? '', /^afadmin_/);
    await node.close();
    await node.close();
    assert.equal(node.runtime.closed, true);
    await noMoreResourcesThan(baseline);
  });

  it('is disposable with await using', async () => {
    const baseline = liveResources();
    {
      await using node = await createNode({ logLevel: 'silent', auth: 'none' });
      assert.equal(node.tenancy.authenticator, undefined);
    }
    await noMoreResourcesThan(baseline);
  });

  it('refuses a bad config naming the setting', async () => {
    await rejectsWithCode(createNode({ poolCapacity: 0 } as never), 'CONFIG_INVALID');
  });

  it('a failed start closes what had opened, in reverse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentfleet-node-'));
    try {
      await writeFile(join(dir, 'log.jsonl'), 'not json\n');
      const baseline = liveResources();
      await rejectsWithCode(
        createNode({ logLevel: 'silent', knowledgeDir: dir, bus: 'memory' }),
        'KNOWLEDGE_STORE_CORRUPT',
      );
      await noMoreResourcesThan(baseline);
      // A bus that cannot connect fails the start the same way, with nothing left open.
      const port = await closedPort();
      await assert.rejects(
        createNode({ logLevel: 'silent', bus: `nats://127.0.0.1:${port}` }),
        /nats|connect/i,
      );
      await noMoreResourcesThan(baseline);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an aborted signal fails the start, leaving nothing open', async () => {
    const baseline = liveResources();
    await rejectsWithCode(createNode({ logLevel: 'silent' }, { signal: AbortSignal.abort() }), 'ABORTED');
    await noMoreResourcesThan(baseline);
  });

  it('deletes a tenant and all it owns: keys, agents, state, knowledge', async () => {
    await using node = await createNode({ logLevel: 'silent' }, { definitions: [echo] });
    const { registry } = node.tenancy;
    for (const id of ['acme', 'globex']) {
      await registry.createTenant({ id });
      await issueApiKey(registry, id);
      await withTenant(id, async () => {
        await node.runtime.spawn('echo', { id: 'e' });
        node.state.set('e', { secret: id });
      });
      await node.knowledge.upsert({ tenant: id, id: 'doc', text: `${id} handbook` });
    }
    const result = await node.deleteTenant('acme');
    assert.deepEqual(Object.keys(result.purged).sort(), [
      'agents',
      'budgets',
      'definitions',
      'groups',
      'keys',
      'knowledge',
      'quotas',
      'rollouts',
      'runs',
      'state',
    ]);
    assert.equal(await registry.getTenant('acme'), undefined);
    assert.deepEqual(await registry.listKeys('acme'), []);
    withTenant('acme', () => {
      assert.deepEqual(node.runtime.list(), []);
      assert.equal(node.state.get('e'), undefined);
    });
    assert.deepEqual(await node.knowledge.search('acme', 'handbook'), []);
    withTenant('globex', () => assert.equal(node.runtime.list().length, 1));
    assert.equal((await node.knowledge.search('globex', 'handbook')).length, 1);
  });
});

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('createNode with an agents folder', () => {
  it('serves the example fleet in ./agents', async () => {
    const agentsDir = fileURLToPath(new URL('../../agents', import.meta.url));
    await using node = await createNode({ logLevel: 'silent', agentsDir });
    const names = node.runtime.definitions().map((d) => d.name);
    for (const name of ['act', 'triage', 'handbook', 'assistant']) assert.ok(names.includes(name), name);
    assert.equal(
      (await node.send<{ status: string }>(node.actAgentId, { trustHeader: 'true' })).status,
      'EXECUTED',
    );
  });

  it('a bad spec fails the start naming every bad path, and leaves nothing open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentfleet-agents-'));
    try {
      await writeFile(join(dir, 'good.yaml'), 'name: fine\ncognition:\n  type: builtin\n  name: act\n');
      await writeFile(join(dir, 'bad.yaml'), 'name: bad\ncognition:\n  type: telepathy\n');
      await writeFile(join(dir, 'worse.json'), '{"name": 3}');
      const baseline = liveResources();
      const error = await createNode({ logLevel: 'silent', agentsDir: dir }).then(
        () => assert.fail('expected SPEC_INVALID'),
        (e: Error & { code?: string }) => e,
      );
      assert.equal(error.code, 'SPEC_INVALID');
      assert.match(error.message, /bad\.yaml/);
      assert.match(error.message, /worse\.json/);
      await noMoreResourcesThan(baseline);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('applies a spec’s state section to its agents’ state, folder and tenant specs alike', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentfleet-agents-'));
    try {
      await writeFile(
        join(dir, 'rover.yaml'),
        [
          'name: rover',
          'cognition: { type: rules, rules: [], otherwise: { decision: idle, reason: none } }',
          'state:',
          '  relevance: { docked: [dock_id] }',
          '  ttl: { rules: [{ name: docked, when: { anyTag: [docked] }, ttlMs: 10000 }], defaultTtlMs: 2000 }',
          '  limits: { maxKeys: 2 }',
          '',
        ].join('\n'),
      );
      await using node = await createNode({ logLevel: 'silent', agentsDir: dir }, { definitions: [echo] });
      await node.runtime.spawn('rover', { id: 'r1' });
      await node.runtime.spawn('echo', { id: 'e1' });
      node.state.setTags('r1', ['docked']);
      assert.deepEqual(node.state.set('r1', { dock_id: 'd7', speed: 0 }).published, ['dock_id']);
      assert.equal(node.state.get('r1')?.ttlRule, 'docked');
      throwsWithCode(() => node.state.set('r1', { heading: 1 }), 'STATE_LIMIT_EXCEEDED');
      node.state.set('e1', { a: 1, b: 2, c: 3 }); // echo has no rules: the store's own
      assert.equal(node.state.get('e1')?.ttlRule, 'default');

      // A tenant's definition brings its rules too, for that tenant's agents only.
      await node.definitions.put(
        'acme',
        'rover',
        'name: rover\ncognition: { type: rules, rules: [], otherwise: { decision: idle, reason: none } }\nstate: { limits: { maxKeys: 1 } }\n',
      );
      await withTenant('acme', async () => {
        await node.runtime.spawn('rover', { id: 'r1' });
        node.state.set('r1', { a: 1 });
        throwsWithCode(() => node.state.set('r1', { b: 1 }), 'STATE_LIMIT_EXCEEDED');
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an edited spec file is a new version without a restart; a bad edit is logged, counted and refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentfleet-hot-'));
    const file = join(dir, 'switch.yaml');
    const rules = (decision: string) =>
      `name: switch\ncognition: { type: rules, rules: [], otherwise: { decision: ${decision}, reason: r } }\n`;
    try {
      await writeFile(file, rules('off'));
      await using node = await createNode({ logLevel: 'silent', agentsDir: dir });
      await node.runtime.spawn('switch', { id: 's1' });
      const answer = async () => ((await node.send('s1', {})) as { value: string }).value;
      const reloads = async () =>
        await node.metrics.registry.getSingleMetricAsString('agentfleet_definition_reloads_total');
      assert.equal(await answer(), 'off');
      await writeFile(file, rules('on'));
      // The watch reloads it: wait until the change is seen.
      await until(async () => (await answer()) === 'on');
      assert.match(await reloads(), /outcome="updated"} 1/);
      assert.equal(node.agentsFolder?.versions('switch')?.versions().length, 2);
      await writeFile(file, 'name: switch\ncognition: { type: nope }\n');
      await until(async () => /outcome="invalid"}/.test(await reloads()));
      assert.equal(await answer(), 'on', 'the running version serves on');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

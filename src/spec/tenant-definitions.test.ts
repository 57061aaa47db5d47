import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { definitionKey, MemoryDefinitionStore, type SpecInvalidError, TenantDefinitions } from './index.ts';

const RULES = (name: string, answer: string) =>
  JSON.stringify({
    name,
    cognition: { type: 'rules', rules: [], otherwise: { decision: answer, reason: 'always' } },
  });

describe('TenantDefinitions', () => {
  const runtime = createRuntime();
  const definitions = new TenantDefinitions({ target: runtime, maxPerTenant: 2, maxBytes: 2048 });
  after(async () => {
    await definitions.close();
    await runtime.close();
  });

  it('a tenant’s definition is used by that tenant only, before the shared one of the same name', async () => {
    runtime.register(defineAgent({ name: 'greeter', decide: () => 'shared' }));
    await definitions.put('acme', 'greeter', RULES('greeter', 'acme-own'));
    const acme = await withTenant('acme', async () => {
      await runtime.spawn('greeter', { id: 'g' });
      return runtime.send('g', {});
    });
    assert.equal((acme as { value: string }).value, 'acme-own');
    const globex = await withTenant('globex', async () => {
      await runtime.spawn('greeter', { id: 'g' });
      return runtime.send('g', {});
    });
    assert.equal(globex, 'shared');
    assert.deepEqual(
      definitions.list('acme').map((s) => s.name),
      ['greeter'],
    );
    assert.equal(definitions.get('globex', 'greeter'), undefined);
  });

  it('reads YAML, and validates like the node’s specs, plus what a tenant may not ask for', async () => {
    const { created } = await definitions.put(
      'yml',
      'y',
      'name: y\ncognition: { type: rules, rules: [], otherwise: { decision: 1, reason: r } }\n',
      { format: 'yaml' },
    );
    assert.equal(created, true);
    await definitions.delete('yml', 'y');
    await assert.rejects(
      definitions.put(
        'acme',
        'bad',
        'name: other\ncognition: { type: llm, model: openai/m, systemFile: /etc/passwd }\ntools: [{ type: mcp, command: sh }]\n',
        { format: 'yaml' },
      ),
      (error: SpecInvalidError) => {
        assert.equal(error.code, 'SPEC_INVALID');
        assert.deepEqual(error.problems.map((p) => p.path).sort(), [
          'cognition.systemFile',
          'name',
          'tools.0.command',
        ]);
        return true;
      },
    );
    await assert.rejects(definitions.put('acme', 'x', '{"name": "x"'), { code: 'SPEC_INVALID' });
  });

  it('bounds the count per tenant and the bytes of a spec; replacing does not count', async () => {
    await definitions.put('acme', 'two', RULES('two', 'a'));
    await definitions.put('acme', 'two', RULES('two', 'b'));
    await assert.rejects(definitions.put('acme', 'three', RULES('three', 'c')), { code: 'DEFINITION_LIMIT' });
    await assert.rejects(definitions.put('acme', 'big', ' '.repeat(4096)), { code: 'SPEC_TOO_LARGE' });
  });

  it('deletes one definition, and all of a tenant’s when it is purged', async () => {
    assert.equal(await definitions.delete('acme', 'two'), true);
    assert.equal(await definitions.delete('acme', 'two'), false);
    assert.deepEqual(await definitions.purgeTenant('acme'), { definitions: 1 });
    assert.deepEqual(definitions.list('acme'), []);
    // After the purge acme sees the shared definition again.
    const answer = await withTenant('acme', async () => {
      await runtime.spawn('greeter', { id: 'again' });
      return runtime.send('again', {});
    });
    assert.equal(answer, 'shared');
  });
});

describe('TenantDefinitions versions', () => {
  const runtime = createRuntime();
  const definitions = new TenantDefinitions({ target: runtime });
  after(async () => {
    await definitions.close();
    await runtime.close();
  });
  const ask = (id: string) =>
    withTenant('acme', async () => ((await runtime.send(id, {})) as { value: string }).value);

  it('each PUT is a version; a staged one serves only a split; a kept one can be made current again', async () => {
    const first = await definitions.put('acme', 'v', RULES('v', 'one'));
    assert.match(first.version.version, /^r1@[0-9a-f]{12}$/);
    await withTenant('acme', () => runtime.spawn('v', { id: 'a1' }));
    const second = await definitions.put('acme', 'v', RULES('v', 'two'));
    assert.equal(second.created, false);
    assert.equal(second.version.label, 'r2');
    assert.equal(await ask('a1'), 'two', 'an agent made from the first version takes the new one');
    const staged = await definitions.put('acme', 'v', RULES('v', 'three'), { current: false });
    assert.equal(await ask('a1'), 'two', 'staged, not current');
    assert.deepEqual(
      definitions.versions('acme', 'v')?.map((v) => [v.label, v.current]),
      [
        ['r1', false],
        ['r2', true],
        ['r3', false],
      ],
    );
    await definitions.setSplit('acme', 'v', {
      from: second.version.version,
      to: staged.version.id,
      percent: 100,
    });
    assert.equal(await ask('a1'), 'three');
    await definitions.setSplit('acme', 'v', undefined);
    await definitions.setCurrent('acme', 'v', first.version.version);
    assert.equal(await ask('a1'), 'one');
    assert.equal(definitions.get('acme', 'v')?.cognition.type, 'rules');
    await assert.rejects(definitions.setCurrent('acme', 'v', 'r9'), { code: 'VERSION_NOT_FOUND' });
    await assert.rejects(definitions.setCurrent('globex', 'v', 'r1'), { code: 'VERSION_NOT_FOUND' });
    assert.equal(definitions.versions('globex', 'v'), undefined, 'another tenant sees none');
    const same = await definitions.put('acme', 'v', RULES('v', 'two'));
    assert.equal(same.version.id, second.version.id, 'the same content is the same version');
    assert.equal(definitions.versions('acme', 'v')?.length, 3);
    await assert.rejects(definitions.put('acme', 'v', '{"name": "v"}'), { code: 'SPEC_INVALID' });
    assert.equal(await ask('a1'), 'two', 'a bad PUT leaves the running version untouched');
  });
});

describe('TenantDefinitions over a shared store', () => {
  const store = new MemoryDefinitionStore();
  const refused: unknown[] = [];
  const nodes = [0, 1].map(() => {
    const runtime = createRuntime();
    const definitions = new TenantDefinitions({
      target: runtime,
      store,
      maxPerTenant: 2,
      onInvalid: (error) => refused.push(error),
    });
    return { runtime, definitions };
  });
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  before(async () => {
    for (const node of nodes) await node.definitions.start();
  });
  after(async () => {
    for (const node of nodes) {
      await node.definitions.close();
      await node.runtime.close();
    }
    await store.close();
  });

  it('what one puts, the other registers; a replacement and a delete reach both', async () => {
    const put = await a.definitions.put('acme', 'greeter', RULES('greeter', 'first'), { format: 'json' });
    assert.equal(put.created, true);
    assert.equal(
      withTenant('acme', () => a.runtime.hasDefinition('greeter')),
      true,
      'registered on the writer when the PUT answers',
    );
    await b.definitions.ensure('acme', 'greeter');
    const answer = await withTenant('acme', async () => {
      await b.runtime.spawn('greeter', { id: 'g' });
      return b.runtime.send('g', {});
    });
    assert.equal((answer as { value: string }).value, 'first');
    assert.equal((await b.definitions.put('acme', 'greeter', RULES('greeter', 'second'))).created, false);
    await a.definitions.sync();
    assert.match(JSON.stringify(a.definitions.get('acme', 'greeter')), /second/);
    assert.equal(await a.definitions.delete('acme', 'greeter'), true);
    await b.definitions.sync();
    assert.equal(
      withTenant('acme', () => b.runtime.hasDefinition('greeter')),
      false,
    );
    assert.equal(await b.definitions.delete('acme', 'greeter'), false);
  });

  it('bounds a tenant over the store, and purges it from every node', async () => {
    await a.definitions.put('busy', 'one', RULES('one', '1'));
    await b.definitions.put('busy', 'two', RULES('two', '2'));
    await assert.rejects(a.definitions.put('busy', 'three', RULES('three', '3')), {
      code: 'DEFINITION_LIMIT',
    });
    assert.deepEqual(await b.definitions.purgeTenant('busy'), { definitions: 2 });
    // Two nodes creating the last free name's worth at once: exactly one gets it.
    await a.definitions.put('busy', 'one', RULES('one', '1'));
    const raced = await Promise.allSettled([
      a.definitions.put('busy', 'x', RULES('x', 'a')),
      b.definitions.put('busy', 'y', RULES('y', 'b')),
    ]);
    assert.deepEqual(raced.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(
      (raced.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code,
      'DEFINITION_LIMIT',
    );
    for (const node of nodes) {
      await node.definitions.sync();
      assert.equal(node.definitions.list('busy').length, 2);
    }
    assert.equal(await store.purgeTenant('busy'), 2, 'the store holds no more than the limit');
    await a.definitions.sync();
    assert.deepEqual(a.definitions.list('busy'), []);
  });

  it('versions, their labels and the current one are the same on every node', async () => {
    await a.definitions.put('vers', 'g', RULES('g', 'one'));
    const two = await b.definitions.put('vers', 'g', RULES('g', 'two'), { current: false });
    await a.definitions.sync();
    const listed = (node: typeof a) =>
      node.definitions.versions('vers', 'g')?.map((v) => [v.version, v.current]);
    assert.deepEqual(listed(a), listed(b));
    assert.equal(listed(a)?.length, 2);
    await a.definitions.setCurrent('vers', 'g', two.version.version);
    await b.definitions.sync();
    assert.equal(b.definitions.versions('vers', 'g')?.find((v) => v.current)?.id, two.version.id);
    const answer = await withTenant('vers', async () => {
      await b.runtime.spawn('g', { id: 'g1' });
      return b.runtime.send('g1', {});
    });
    assert.equal((answer as { value: string }).value, 'two');
    for (let i = 0; i < 8; i++) await a.definitions.put('vers', 'g', RULES('g', `n${i}`));
    await b.definitions.sync();
    assert.ok((b.definitions.versions('vers', 'g')?.length ?? 0) <= 6, 'the store keeps a bounded history');
    await a.definitions.purgeTenant('vers');
  });

  it('a stored spec is checked again: a bad one is refused and skipped, and the version serving serves on', async () => {
    await a.definitions.put('acme', 'kept', RULES('kept', 'ok'));
    const before = refused.length;
    store.putRaw(
      definitionKey('acme', 'sneaky'),
      JSON.stringify({
        v: 1,
        tenant: 'acme',
        name: 'sneaky',
        format: 'yaml',
        text: 'name: other\ncognition: { type: builtin, name: act }\n',
      }),
    );
    await store.put('acme', 'kept', 'not: [a spec', 'yaml');
    for (const node of nodes) await node.definitions.sync();
    for (const node of nodes) {
      assert.equal(node.definitions.get('acme', 'sneaky'), undefined);
      assert.equal(node.definitions.get('acme', 'kept')?.name, 'kept', 'the running version is untouched');
    }
    assert.equal(refused.length - before, 4, 'each node told of each');
    assert.ok(refused.slice(before).every((e) => (e as { code?: string }).code === 'SPEC_INVALID'));
  });
});

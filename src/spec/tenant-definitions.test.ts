import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { type SpecInvalidError, TenantDefinitions } from './index.ts';

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

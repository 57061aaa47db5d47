import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, type Runtime } from '../core/index.ts';
import { KnowledgeBase } from '../knowledge/index.ts';
import { createProvider, ModelRegistry } from '../models/index.ts';
import {
  type CompiledAgentSpec,
  compileAgentSpec,
  type LoadedAgentSpec,
  loadAgentSpecs,
  parseAgentSpec,
} from './index.ts';

const EXAMPLES = new URL('../../agents/', import.meta.url).pathname;

describe('compileAgentSpec over the example fleet', () => {
  let vendor: VendorServer;
  let knowledge: KnowledgeBase;
  let specs: LoadedAgentSpec[];
  const compiled: CompiledAgentSpec[] = [];
  const runtimes: Runtime[] = [];

  async function fleet(models: ModelRegistry | undefined): Promise<Runtime> {
    const runtime = createRuntime();
    runtimes.push(runtime);
    for (const spec of specs) {
      const c = await compileAgentSpec(spec, { models, knowledge });
      compiled.push(c);
      runtime.register(c.definition);
      await runtime.spawn(c.definition.name, { id: c.definition.name });
    }
    return runtime;
  }

  before(async () => {
    vendor = await startVendorServer({ record: true });
    knowledge = await KnowledgeBase.open();
    specs = await loadAgentSpecs(EXAMPLES);
  });
  after(async () => {
    for (const r of runtimes) await r.close();
    for (const c of compiled) await c.close();
    await knowledge.close();
    await vendor.close();
  });

  it('act: the seed trust decision', async () => {
    const runtime = await fleet(undefined);
    const yes = (await runtime.send('act', { trustHeader: 'true' })) as { status: string; timestamp: number };
    assert.equal(yes.status, 'EXECUTED');
    assert.ok(Number.isInteger(yes.timestamp));
    assert.equal(
      ((await runtime.send('act', { trustHeader: null })) as { status: string }).status,
      'REJECTED',
    );
  });

  it('triage: rules over the message, and INVALID_INPUT for a message its input schema refuses', async () => {
    const runtime = await fleet(undefined);
    assert.equal(
      ((await runtime.send('triage', { priority: 'urgent', topic: 'x' })) as { value: string }).value,
      'on-call',
    );
    assert.equal(
      ((await runtime.send('triage', { priority: 'low', topic: 'Refund' })) as { value: string }).value,
      'billing',
    );
    assert.equal(
      ((await runtime.send('triage', { priority: 'low', topic: 'login' })) as { value: string }).value,
      'support',
    );
    await assert.rejects(
      runtime.send('triage', { priority: 'someday' }),
      (error: { code: string; message: string }) => {
        assert.equal(error.code, 'INVALID_INPUT');
        assert.match(error.message, /topic: is required/);
        return true;
      },
    );
  });

  it('handbook: cited passages of the bundled documents, offline', async () => {
    const runtime = await fleet(undefined);
    const answer = (await runtime.send('handbook', 'how is a model named provider/model?')) as {
      text: string;
    };
    assert.match(answer.text, /\[models\.md#0\]/);
  });

  it('handbook in a tenant: the bundled documents beside the tenant’s own, never another tenant’s', async () => {
    const runtime = await fleet(undefined);
    await knowledge.upsert({
      tenant: 'acme',
      id: 'acme-secret',
      text: 'A model of acme is named acme/secret-model.',
    });
    const ask = (tenant: string) =>
      withTenant(tenant, async () => {
        await runtime.spawn('handbook', { id: 'hb' });
        return (await runtime.send('hb', 'how is a model named provider/model?')) as { text: string };
      });
    const acme = await ask('acme');
    assert.match(acme.text, /\[models\.md#0\]/, 'the bundle is searched from a tenant');
    assert.match(acme.text, /acme-secret/, 'and the tenant’s own documents');
    const globex = await ask('globex');
    assert.match(globex.text, /\[models\.md#0\]/);
    assert.doesNotMatch(globex.text, /acme-secret/, 'never another tenant’s');
    for (const tenant of ['default', 'bundle']) {
      const direct = await knowledge.search(tenant, 'how is a model named provider/model?', 3);
      assert.deepEqual(direct, [], `the bundle is in no tenant of the node's base (${tenant})`);
    }
  });

  it('assistant without a configured provider: MODEL_NOT_CONFIGURED naming OPENAI_API_KEY, at message time', async () => {
    const runtime = await fleet(new ModelRegistry());
    await assert.rejects(
      runtime.send('assistant', 'hello'),
      (error: { code: string; details?: Record<string, unknown> }) => {
        assert.equal(error.code, 'AGENT_STEP_FAILED');
        const cause = error.details?.cause as { code: string; message: string };
        assert.equal(cause.code, 'MODEL_NOT_CONFIGURED');
        assert.match(cause.message, /provider openai needs OPENAI_API_KEY/);
        return true;
      },
    );
  });

  it('assistant against the vendor test server: calls knowledge search, then answers', async () => {
    const models = new ModelRegistry().add(
      createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' }),
    );
    const runtime = await fleet(models);
    const answer = (await runtime.send('assistant', 'scenario:tool tenants')) as {
      text: string;
      toolCalls: number;
    };
    assert.equal(answer.toolCalls, 1);
    assert.equal(typeof answer.text, 'string');
    const first = vendor.calls.at(-2)?.body as {
      model?: string;
      messages?: Array<{ role: string; content: unknown }>;
      tools?: Array<{ function: { name: string } }>;
    };
    assert.equal(first?.model, 'gpt-4o-mini');
    assert.equal(first?.tools?.[0]?.function.name, 'search_knowledge');
    assert.match(String(first?.messages?.[0]?.content), /Agentfleet assistant/);
    await models.close();
  });

  it('message-agent: the model gets a message_agent tool over the runtime', async () => {
    const models = new ModelRegistry().add(
      createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' }),
    );
    const runtime = await fleet(undefined);
    const spec = parseAgentSpec(
      'name: router\ncognition: { type: llm, model: openai/m }\ntools: [{ type: message-agent, agents: [triage] }]\n',
    );
    const c = await compileAgentSpec(spec, { models, messaging: runtime });
    compiled.push(c);
    runtime.register(c.definition);
    await runtime.spawn('router', { id: 'router' });
    const answer = (await runtime.send('router', 'scenario:tool route')) as { toolCalls: number };
    assert.equal(answer.toolCalls, 1);
    const first = vendor.calls.at(-2)?.body as { tools?: Array<{ function: { name: string } }> };
    assert.equal(first?.tools?.[0]?.function.name, 'message_agent');
    await assert.rejects(compileAgentSpec(spec, { models }), { code: 'INVALID_OPTIONS' });
    await models.close();
  });

  it("an llm spec records each decision in the node's provenance, with the spec's name and version", async () => {
    const models = new ModelRegistry().add(
      createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' }),
    );
    const runtime = await fleet(undefined);
    const drafts: Array<{ definition: string | null; model: string; agentId: string }> = [];
    const spec = parseAgentSpec('name: noted\ncognition: { type: llm, model: openai/m }\n');
    const c = await compileAgentSpec(spec, { models, provenance: { record: (d) => drafts.push(d) } });
    compiled.push(c);
    runtime.register(c.definition);
    await runtime.spawn('noted', { id: 'noted' });
    await runtime.send('noted', 'hello');
    assert.equal(drafts.length, 1);
    assert.equal(drafts[0]?.definition, 'noted');
    assert.equal(drafts[0]?.agentId, 'noted');
    assert.equal(drafts[0]?.model, 'm');
    await models.close();
  });

  it('refuses a spec whose needs the node does not meet, when compiling', async () => {
    const spec = parseAgentSpec('name: k\ncognition: { type: knowledge }\n');
    await assert.rejects(compileAgentSpec(spec, {}), { code: 'INVALID_OPTIONS' });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startVendorServer } from '../../test/vendors/server.ts';
import { createRuntime } from '../core/index.ts';
import { ModelRegistry } from '../models/index.ts';
import { compileAgentSpec, parseAgentSpec } from './index.ts';

const causeOf = (error: unknown) =>
  (error as { details?: { cause?: { code?: string } } }).details?.cause?.code;

describe('a compiled spec over a registry that reloads', () => {
  it('a provider added by a reload serves a spec compiled before, without recompiling; so does a fallback', async (t) => {
    const vendor = await startVendorServer();
    const models = ModelRegistry.fromConfig({ providers: {} }, {});
    const runtime = createRuntime();
    t.after(async () => {
      await runtime.close();
      await models.close();
      await vendor.close();
    });
    const spec = parseAgentSpec('name: late\ncognition: { type: llm, model: p/m }\nfallbacks: [q/m]\n');
    const compiled = await compileAgentSpec(spec, { models });
    t.after(() => compiled.close());
    runtime.register(compiled.definition);
    await runtime.spawn('late', { id: 'late' });
    await assert.rejects(runtime.send('late', 'hello'), (error) => causeOf(error) === 'MODEL_NOT_CONFIGURED');

    // The primary is added, but answers 401: the fallback is not configured yet.
    const base = { kind: 'openai', baseUrl: `${vendor.url}/v1`, apiKey: 'k' };
    models.reload({ providers: { p: { ...base, headers: { 'x-mock-scenario': 'auth' } } } }, {});
    await assert.rejects(runtime.send('late', 'hello'), (error) => causeOf(error) === 'LLM_AUTH');
    assert.equal(vendor.calls.length, 1, 'the failure was not cached: the added provider was called');

    // A reload adds the fallback: the same compiled spec falls back to it.
    models.reload(
      { providers: { p: { ...base, headers: { 'x-mock-scenario': 'auth' } }, q: { ...base, apiKey: 'q' } } },
      {},
    );
    const answer = (await runtime.send('late', 'hello')) as { text: string };
    assert.equal(typeof answer.text, 'string');
    assert.equal(vendor.calls.at(-1)?.headers.authorization, 'Bearer q', 'the fallback answered');
  });
});

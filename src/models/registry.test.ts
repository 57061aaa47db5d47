import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { liveResources, noMoreResourcesThan, throwsWithCode } from '../../test/helpers.ts';
import { startVendorServer } from '../../test/vendors/server.ts';
import { PRESETS } from '../llm/index.ts';
import { createProvider, ModelRegistry } from './index.ts';

describe('model registry and provider config', () => {
  it('names a model provider/model; the rest after the first slash is the vendor’s name', async () => {
    const registry = ModelRegistry.fromConfig({ providers: { vllm: {}, openai: { apiKey: 'k' } } }, {});
    const { provider, model } = registry.resolve('vllm/meta-llama/Llama-3.1-8B');
    assert.equal(provider.name, 'vllm');
    assert.equal(model, 'meta-llama/Llama-3.1-8B');
    throwsWithCode(() => registry.resolve('nope/m'), 'UNKNOWN_PROVIDER');
    throwsWithCode(() => registry.resolve('no-slash'), 'INVALID_MODEL');
    throwsWithCode(() => registry.resolve('openai/'), 'INVALID_MODEL');
    await registry.close();
  });

  it('has presets for the OpenAI-compatible vendors, Anthropic and DashScope', () => {
    for (const name of ['openai', 'qwen', 'zhipu', 'deepseek', 'moonshot', 'ollama', 'vllm', 'llamacpp']) {
      assert.equal(PRESETS[name]?.kind, 'openai', name);
    }
    assert.equal(PRESETS.anthropic?.kind, 'anthropic');
    assert.equal(PRESETS.dashscope?.kind, 'dashscope');
  });

  it('takes the key and base URL from the environment', async () => {
    const server = await startVendorServer();
    const env = { DEEPSEEK_API_KEY: 'from-env', DEEPSEEK_BASE_URL: `${server.url}/v1` };
    const provider = createProvider('deepseek', {}, env);
    await provider.generate({ model: 'deepseek-chat', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(server.calls[0]?.headers.authorization, 'Bearer from-env');
    await provider.close();
    await server.close();
  });

  it('rejects bad config with a typed error naming the field', () => {
    throwsWithCode(
      () => ModelRegistry.fromConfig({ providers: { x: { baseUrl: 'ftp://x' } } }, {}),
      'INVALID_OPTIONS',
    );
    throwsWithCode(
      () => ModelRegistry.fromConfig({ providers: { x: { kind: 'cohere' } } }, {}),
      'INVALID_OPTIONS',
    );
    throwsWithCode(
      () => ModelRegistry.fromConfig({ providers: { x: { apiKey: 'k' } } }, {}),
      'PROVIDER_CONFIG_INVALID',
    );
    throwsWithCode(() => ModelRegistry.fromConfig({ provider: {} }, {}), 'INVALID_OPTIONS');
    throwsWithCode(() => createProvider('x', { preset: 'nope' }), 'UNKNOWN_PROVIDER');
    const dir = mkdtempSync(join(tmpdir(), 'af-models-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{ not json');
      throwsWithCode(() => ModelRegistry.fromFile(join(dir, 'bad.json')), 'PROVIDER_CONFIG_INVALID');
      throwsWithCode(() => ModelRegistry.fromFile(join(dir, 'missing.json')), 'PROVIDER_CONFIG_INVALID');
      writeFileSync(join(dir, 'ok.json'), JSON.stringify({ providers: { local: { preset: 'ollama' } } }));
      assert.equal(
        ModelRegistry.fromFile(join(dir, 'ok.json'), {}).resolve('local/qwen2.5').model,
        'qwen2.5',
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('close leaves no sockets or timers behind', async () => {
    const baseline = liveResources();
    const server = await startVendorServer();
    const provider = createProvider('openai', { baseUrl: `${server.url}/v1`, apiKey: 'k' });
    const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
    await Promise.all([provider.generate(ask), provider.generate(ask)]);
    for await (const _ of provider.stream(ask)) {
      // drain
    }
    await provider.close();
    await server.close();
    await noMoreResourcesThan(baseline);
  });
});

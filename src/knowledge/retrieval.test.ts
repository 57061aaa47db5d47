import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import type { Provider } from '../llm/index.ts';
import { llm } from '../llm-agent/index.ts';
import { createProvider } from '../models/index.ts';
import { KnowledgeBase, knowledgeCognition } from './index.ts';

describe('retrieval in agents', () => {
  let vendor: VendorServer;
  let provider: Provider;
  let kb: KnowledgeBase;
  before(async () => {
    vendor = await startVendorServer({ latencyMs: 0 });
    provider = createProvider('openai', { baseUrl: `${vendor.url}/v1`, apiKey: 'k' });
    kb = await KnowledgeBase.open();
    await kb.upsert({
      tenant: 'acme',
      id: 'router',
      text: 'To reset the router password, hold the reset button for ten seconds.',
    });
    await kb.upsert({ tenant: 'acme', id: 'fruit', text: 'Bananas are rich in potassium.' });
    await kb.upsert({ tenant: 'globex', id: 'secret', text: 'Globex router reset codes: 1234.' });
  });
  after(async () => {
    await provider.close();
    await vendor.close();
  });

  it("an LLM agent gets its tenant's best passages in context, cited, and recorded on the answer", async () => {
    const runtime = createRuntime();
    const def = defineAgent({
      name: 'helpdesk',
      decide: llm({ provider, model: 'm', knowledge: { base: kb, k: 2 } }),
    });
    await withTenant('acme', () => runtime.spawn(def, { id: 'desk' }));
    const answer = await withTenant('acme', () =>
      runtime.send<{ passages: Array<{ documentId: string }> }>(
        'desk',
        'how do I reset the router password?',
      ),
    );
    assert.equal(answer.passages[0]?.documentId, 'router');
    const sent = JSON.stringify(vendor.calls.at(-1)?.body);
    assert.match(sent, /\[router#0\] To reset the router password/);
    assert.ok(!sent.includes('1234'), "another tenant's passage never reaches the prompt");
    await runtime.close();
  });

  it('without a model, a knowledge agent answers with the best passages', async () => {
    const runtime = createRuntime();
    const def = defineAgent({ name: 'kb-only', decide: knowledgeCognition({ base: kb, k: 1 }) });
    await withTenant('acme', () => runtime.spawn(def, { id: 'kb' }));
    const answer = await withTenant('acme', () => runtime.send<{ text: string }>('kb', 'potassium'));
    assert.match(answer.text, /^\[fruit#0\] Bananas/);
    await runtime.close();
  });
});

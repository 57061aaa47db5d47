// The tenant context survives model calls and tool executions inside an LLM agent's step, and
// agents of the same id in different tenants never share a conversation (one `llm()` serves
// them all; before its memory was keyed by tenant, globex's agent answered from acme's history).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { startVendorServer, type VendorServer } from '../../test/vendors/server.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import type { Provider } from '../llm/index.ts';
import { createProvider } from '../models/index.ts';
import { defineTool } from '../tools/index.ts';
import { llm } from './index.ts';

describe('tenant context through the LLM loop', () => {
  let server: VendorServer;
  let provider: Provider;
  before(async () => {
    server = await startVendorServer({ latencyMs: 2 });
    provider = createProvider('openai', { baseUrl: `${server.url}/v1`, apiKey: 'k' });
  });
  after(async () => {
    await provider.close();
    await server.close();
  });

  it('each tool execution, after each model round trip, runs as the agent’s tenant; conversations stay apart', async () => {
    const seen: Array<[string, string | undefined]> = [];
    const whoami = defineTool({
      name: 'search',
      description: 'Search',
      parameters: z.object({ query: z.string(), n: z.number() }),
      execute: async () => {
        await new Promise((r) => setTimeout(r, 1));
        return `tenant ${currentTenantId()}`;
      },
    });
    const runtime = createRuntime({ pool: { capacity: 2 } });
    const def = defineAgent({
      name: 'assistant',
      decide: llm({ provider, model: 'm', tools: [whoami] }),
      act: (answer, ctx) => {
        seen.push([ctx.agentId, currentTenantId()]);
        return answer.text;
      },
    });
    const tenants = ['acme', 'globex', 'initech', 'umbrella'];
    for (const t of tenants) await withTenant(t, () => runtime.spawn(def, { id: 'helper' }));
    const answers = await Promise.all(
      tenants.map((t) => withTenant(t, () => runtime.send<string>('helper', 'scenario:tools3 go'))),
    );
    assert.deepEqual(
      answers,
      tenants.map((t) => `done: tenant ${t}`),
    );
    assert.deepEqual(seen.map(([, t]) => t).sort(), [...tenants].sort());
    await runtime.close();
  });
});

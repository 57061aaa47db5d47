import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { withTenant } from '../context/index.ts';
import { HashingEmbedder, KnowledgeBase } from '../knowledge/index.ts';
import { knowledgeSearchTool, ToolRunner } from './index.ts';

const search = (query: string, k?: number) => ({
  id: 's',
  name: 'search_knowledge',
  arguments: JSON.stringify(k === undefined ? { query } : { query, k }),
});

describe('knowledgeSearchTool', () => {
  it('searches only the current tenant, and returns passages with ids to cite', async () => {
    const kb = await KnowledgeBase.open({ embedder: new HashingEmbedder({ dimensions: 64 }) });
    try {
      await kb.upsert({ tenant: 'acme', id: 'refunds', text: 'Acme refunds take five working days.' });
      await kb.upsert({ tenant: 'globex', id: 'secret-plan', text: 'Globex refunds are never granted.' });
      const runner = new ToolRunner([knowledgeSearchTool(kb)]);
      const [acme] = await withTenant('acme', () => runner.run([search('refunds')]));
      const [globex] = await withTenant('globex', () => runner.run([search('refunds')]));
      const [nobody] = await withTenant('initech', () => runner.run([search('refunds')]));
      const passages = (outcome: typeof acme) =>
        (outcome!.value as { passages: { id: string; text: string }[] }).passages;
      assert.deepEqual(
        passages(acme).map((p) => [p.id, p.text]),
        [['refunds#0', 'Acme refunds take five working days.']],
      );
      assert.deepEqual(
        passages(globex).map((p) => p.id),
        ['secret-plan#0'],
      );
      assert.deepEqual(passages(nobody), []);
      assert.match(acme?.message.content ?? '', /"id":"refunds#0"/);
    } finally {
      await kb.close();
    }
  });

  it('passes k (default and bounded) and the fallback tenant outside any tenant', async () => {
    const calls: [string, string, number][] = [];
    const source = {
      search: async (tenant: string, query: string, k: number) => {
        calls.push([tenant, query, k]);
        return [];
      },
    };
    const runner = new ToolRunner([knowledgeSearchTool(source, { k: 2, maxK: 5, tenant: 'solo' })]);
    const [ok, tooMany] = await runner.run([search('a'), search('b', 6)]);
    await withTenant('acme', () => runner.run([search('c', 5)]));
    assert.equal(ok?.error, undefined);
    assert.equal(tooMany?.error?.code, 'TOOL_ARGUMENTS_INVALID');
    assert.deepEqual(calls, [
      ['solo', 'a', 2],
      ['acme', 'c', 5],
    ]);
    throwsWithCode(() => knowledgeSearchTool({} as never), 'INVALID_OPTIONS');
    throwsWithCode(() => knowledgeSearchTool(source, { k: 6, maxK: 5 }), 'INVALID_OPTIONS');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadServerConfig } from './server-config.ts';

describe('loadServerConfig', () => {
  it('has defaults that need no environment', () => {
    const config = loadServerConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.workers, 1);
    assert.equal(config.bodyLimitBytes, 1_048_576);
  });

  it('reads the environment and lets overrides win', () => {
    const config = loadServerConfig(
      { PORT: '9000', AGENTFLEET_WORKERS: '2', HOST: '', AGENTFLEET_CLUSTER: 'nats://127.0.0.1:4222' },
      { port: 7000 },
    );
    assert.equal(config.port, 7000);
    assert.equal(config.workers, 2);
    assert.equal(config.host, '0.0.0.0');
  });

  it('refuses workers that would split agents and state, and a cluster without a shared bus and run store', () => {
    assert.throws(
      () => loadServerConfig({ AGENTFLEET_WORKERS: '2' }),
      (error: { code?: string; message: string }) =>
        error.code === 'CONFIG_INVALID' && /workers: 2 workers need a cluster/.test(error.message),
    );
    const joined = loadServerConfig({ AGENTFLEET_CLUSTER: 'nats://127.0.0.1:4222', AGENTFLEET_WORKERS: '3' });
    assert.equal(joined.bus, 'nats://127.0.0.1:4222', 'the bus defaults to the cluster');
    assert.equal(joined.runs, 'nats://127.0.0.1:4222', 'so does the run store');
    assert.throws(
      () => loadServerConfig({ AGENTFLEET_CLUSTER: 'nats://127.0.0.1:4222', AGENTFLEET_BUS: 'memory' }),
      /bus: a cluster calls between nodes/,
    );
    assert.throws(
      () => loadServerConfig({ AGENTFLEET_CLUSTER: 'nats://127.0.0.1:4222', AGENTFLEET_RUNS: 'sqlite' }),
      /runs: a cluster keeps runs in a shared store/,
    );
    assert.throws(
      () => loadServerConfig({ AGENTFLEET_CLUSTER: 'nats://127.0.0.1:4222', AGENTFLEET_NODE_ID: 'a.b' }),
      /nodeId: a cluster node id has no "\."/,
    );
    assert.throws(() => loadServerConfig({ AGENTFLEET_CLUSTER: 'http://x' }), /cluster/);
  });

  it('takes a NATS cluster as a comma-separated list of servers for the bus and the run store', () => {
    const cluster = 'nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224';
    const config = loadServerConfig({ AGENTFLEET_BUS: cluster, AGENTFLEET_RUNS: cluster });
    assert.equal(config.bus, cluster);
    assert.equal(config.runs, cluster);
  });

  it('takes model prices for budgets, and refuses a price of the wrong shape', () => {
    const prices = { 'openai/gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } };
    assert.deepEqual(loadServerConfig({}, { models: { providers: {}, prices } }).models?.prices, prices);
    for (const bad of [
      { 'no-slash': { inputPerMillion: 1, outputPerMillion: 1 } },
      { 'a/b': { inputPerMillion: -1, outputPerMillion: 1 } },
      { 'a/b': { input: 1 } },
    ])
      assert.throws(
        () => loadServerConfig({}, { models: { providers: {}, prices: bad } }),
        (e: { code?: string; message?: string }) =>
          e.code === 'CONFIG_INVALID' && /models\.prices/.test(e.message ?? ''),
      );
  });

  it('names the bad setting and its source', () => {
    assert.throws(
      () => loadServerConfig({ PORT: 'eighty', AGENTFLEET_POOL_CAPACITY: '0' }),
      (error: { code?: string; message: string }) =>
        error.code === 'CONFIG_INVALID' &&
        /port.*PORT="eighty"/.test(error.message) &&
        /poolCapacity.*AGENTFLEET_POOL_CAPACITY="0"/.test(error.message),
    );
    assert.throws(() => loadServerConfig({}, { workers: -1 }), /workers.*--workers/);
    assert.throws(
      () => loadServerConfig({ AGENTFLEET_KNOWLEDGE_DIR: '/tmp/kb' }, { workers: 2 }),
      (error: { code?: string; message: string }) =>
        error.code === 'CONFIG_INVALID' && /knowledge directory.*one process/.test(error.message),
    );
    assert.equal(loadServerConfig({ AGENTFLEET_KNOWLEDGE_DIR: '/tmp/kb' }).workers, 1);
    assert.throws(() => loadServerConfig({ LOG_LEVEL: 'loud' }), /logLevel/);
    assert.throws(() => loadServerConfig({ AGENTFLEET_KNOWLEDGE_INDEX: 'faiss' }), /knowledgeIndex/);
    assert.equal(loadServerConfig({ AGENTFLEET_KNOWLEDGE_INDEX: 'hnsw' }).knowledgeIndex, 'hnsw');
    const quotas = loadServerConfig({
      AGENTFLEET_KNOWLEDGE_MAX_DOCUMENTS_PER_TENANT: '50000',
      AGENTFLEET_KNOWLEDGE_MAX_BYTES_PER_TENANT: '1073741824',
    });
    assert.equal(quotas.knowledgeMaxDocumentsPerTenant, 50_000);
    assert.equal(quotas.knowledgeMaxBytesPerTenant, 1024 ** 3);
    assert.throws(
      () => loadServerConfig({ AGENTFLEET_KNOWLEDGE_MAX_DOCUMENTS_PER_TENANT: '0' }),
      /AGENTFLEET_KNOWLEDGE_MAX_DOCUMENTS_PER_TENANT/,
    );
  });
});

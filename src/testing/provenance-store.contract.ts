// The behaviour every provenance store must show. Run by provenance/sqlite-provenance-store.test.ts
// and by the PostgreSQL integration test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DecisionDraft,
  GENESIS_HASH,
  type ProvenanceStore,
  provenanceQuerySchema,
  sha256,
} from '../provenance/index.ts';
import { rejectsWithCode } from './assertions.ts';

export interface ProvenanceStoreContractOptions {
  /** Opens a store over a fresh, empty backing; the suite closes it. */
  open: () => Promise<ProvenanceStore>;
  /** Overwrites the stored JSON of the tenant's record `seq` (tampering, or a bad row). */
  tamper: (store: ProvenanceStore, tenant: string, seq: number, json: string) => Promise<void>;
  skip?: string | undefined;
}

let counter = 0;

/** A decision draft with plausible fields, overridable. */
export function sampleDecision(overrides: Partial<DecisionDraft> = {}): DecisionDraft {
  counter++;
  return {
    tenant: 'acme',
    id: `dec-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    at: 1_700_000_000_000 + counter,
    agentId: 'helper',
    runId: `run-${counter}`,
    definition: 'helper',
    specVersion: 'v1',
    provider: 'openai',
    model: 'gpt-test',
    modelVersion: 'gpt-test-2026-01-01',
    promptHash: sha256('system'),
    inputHash: sha256(`input ${counter}`),
    passages: [{ documentId: 'handbook', chunk: 2, documentVersion: null, score: 0.82 }],
    toolCalls: [
      {
        name: 'lookup',
        argumentsHash: sha256('{}'),
        resultHash: sha256('ok'),
        approval: null,
        approvedBy: null,
      },
    ],
    inputTokens: 120,
    outputTokens: 30,
    usageReported: true,
    cost: null,
    latencyMs: 12.5,
    steps: 2,
    stoppedBy: 'answer',
    errorCode: null,
    traceId: null,
    spanId: null,
    ...overrides,
  };
}

const q = (query: Record<string, unknown> = {}) => provenanceQuerySchema.parse(query);

/** Registers the contract's tests with `node:test`. */
export function provenanceStoreContract(name: string, options: ProvenanceStoreContractOptions): void {
  const test = (title: string, fn: (store: ProvenanceStore) => Promise<void>) =>
    it(title, { skip: options.skip }, async () => {
      const store = await options.open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    });

  describe(`provenance store contract: ${name}`, () => {
    test('appends chain per tenant: sequence from 1, each linked to the one before', async (store) => {
      await store.append([sampleDecision(), sampleDecision({ tenant: 'other' }), sampleDecision()]);
      await store.append([sampleDecision()]);
      const { records } = await store.query('acme', q());
      assert.deepEqual(
        records.map((r) => r.seq),
        [1, 2, 3],
      );
      assert.equal(records[0]?.prevHash, GENESIS_HASH);
      assert.equal(records[1]?.prevHash, records[0]?.hash);
      assert.equal(records[2]?.prevHash, records[1]?.hash);
      const other = await store.query('other', q());
      assert.deepEqual(
        other.records.map((r) => [r.tenant, r.seq]),
        [['other', 1]],
      );
      assert.deepEqual((await store.tenants()).sort(), ['acme', 'other']);
      assert.deepEqual(await store.verify('acme'), { tenant: 'acme', records: 3, ok: true });
    });

    test('round-trips every field', async (store) => {
      const draft = sampleDecision({
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        cost: 0.25,
        stoppedBy: null,
        errorCode: 'LLM_TIMEOUT',
      });
      await store.append([draft]);
      const [record] = (await store.query('acme', q())).records;
      const { seq, prevHash, hash, ...rest } = record ?? assert.fail('no record');
      assert.deepEqual(rest, draft);
      assert.equal(seq, 1);
      assert.equal(prevHash, GENESIS_HASH);
      assert.match(hash, /^[0-9a-f]{64}$/);
    });

    test("answers the auditor's questions: by document, by model version in a period", async (store) => {
      await store.append([
        sampleDecision({ at: 1000, passages: [] }),
        sampleDecision({ at: 2000, modelVersion: 'v-old' }),
        sampleDecision({
          at: 3000,
          passages: [
            { documentId: 'policy', chunk: 0, documentVersion: '7', score: 0.9 },
            { documentId: 'policy', chunk: 3, documentVersion: '7', score: 0.7 },
          ],
        }),
        sampleDecision({ at: 4000, modelVersion: 'v-old' }),
        sampleDecision({ tenant: 'other', at: 3000, modelVersion: 'v-old' }),
      ]);
      const used = await store.query('acme', q({ document: 'handbook' }));
      assert.deepEqual(
        used.records.map((r) => r.seq),
        [2, 4],
      );
      const policy = await store.query('acme', q({ document: 'policy' }));
      assert.deepEqual(
        policy.records.map((r) => r.seq),
        [3],
      );
      const old = await store.query('acme', q({ modelVersion: 'v-old', from: 1500, to: 4000 }));
      assert.deepEqual(
        old.records.map((r) => r.seq),
        [2],
      );
      assert.equal((await store.query('acme', q({ model: 'gpt-test' }))).records.length, 4);
      assert.equal((await store.query('acme', q({ model: 'nope' }))).records.length, 0);
    });

    test('filters by agent, run and trace; pages with limit and after', async (store) => {
      const trace = 'c'.repeat(32);
      await store.append([
        sampleDecision({ agentId: 'a', runId: 'r1', traceId: trace }),
        sampleDecision({ agentId: 'b', runId: 'r2' }),
        sampleDecision({ agentId: 'a', runId: null }),
      ]);
      assert.deepEqual(
        (await store.query('acme', q({ agent: 'a' }))).records.map((r) => r.seq),
        [1, 3],
      );
      assert.deepEqual(
        (await store.query('acme', q({ run: 'r2' }))).records.map((r) => r.seq),
        [2],
      );
      assert.deepEqual(
        (await store.query('acme', q({ trace }))).records.map((r) => r.seq),
        [1],
      );
      const first = await store.query('acme', q({ limit: 2 }));
      assert.deepEqual(
        first.records.map((r) => r.seq),
        [1, 2],
      );
      assert.equal(first.next, 2);
      const second = await store.query('acme', q({ limit: 2, after: first.next }));
      assert.deepEqual(
        second.records.map((r) => r.seq),
        [3],
      );
      assert.equal(second.next, undefined);
    });

    test('another tenant sees nothing of a tenant; purging one leaves the others', async (store) => {
      await store.append([sampleDecision(), sampleDecision({ tenant: 'other' })]);
      assert.equal((await store.query('nobody', q())).records.length, 0);
      assert.deepEqual(await store.purgeTenant('acme'), { records: 1 });
      assert.equal((await store.query('acme', q())).records.length, 0);
      assert.equal((await store.query('acme', q({ document: 'handbook' }))).records.length, 0);
      assert.equal((await store.query('other', q())).records.length, 1);
      // A new chain starts over for a purged tenant.
      await store.append([sampleDecision()]);
      assert.equal((await store.query('acme', q())).records[0]?.prevHash, GENESIS_HASH);
    });

    test('prunes records older than a time; the chain verifies from the oldest kept', async (store) => {
      await store.append([
        sampleDecision({ at: 1000 }),
        sampleDecision({ at: 2000 }),
        sampleDecision({ at: 3000 }),
      ]);
      assert.equal(await store.prune(2500), 2);
      assert.deepEqual(
        (await store.query('acme', q())).records.map((r) => r.seq),
        [3],
      );
      assert.equal((await store.query('acme', q({ document: 'handbook' }))).records.length, 1);
      assert.deepEqual(await store.verify('acme'), { tenant: 'acme', records: 1, ok: true });
      await store.append([sampleDecision()]);
      assert.deepEqual(await store.verify('acme'), { tenant: 'acme', records: 2, ok: true });
    });

    test('verify reports the first altered record', async (store) => {
      await store.append([sampleDecision(), sampleDecision(), sampleDecision()]);
      const [, second] = (await store.query('acme', q())).records;
      assert.ok(second !== undefined);
      await options.tamper(store, 'acme', 2, JSON.stringify({ ...second, inputTokens: 1 }));
      const report = await store.verify('acme');
      assert.equal(report.ok, false);
      assert.equal(report.broken?.seq, 2);
      assert.match(report.broken?.reason ?? '', /altered/);
    });

    test('a row that is not a record is a typed error', async (store) => {
      await store.append([sampleDecision()]);
      await options.tamper(store, 'acme', 1, JSON.stringify({ seq: 1, nonsense: true }));
      await rejectsWithCode(store.query('acme', q()), 'PROVENANCE_STORE_CORRUPT');
      assert.equal((await store.verify('acme')).ok, false);
    });
  });
}

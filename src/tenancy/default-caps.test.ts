// Safe defaults an operator can raise: without a `maxAgents` quota a tenant used to be able to
// create agents without bound (60,000 in 6 s over HTTP); now the gate caps it at 10,000.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { QuotaExceededError, TenantQuotaGate } from './index.ts';

const echo = defineAgent({ name: 'echo', decide: (x: unknown) => x });

describe('default agents per tenant', () => {
  it('caps a tenant without a maxAgents quota at 10,000, and a quota raises it', async () => {
    const gate = new TenantQuotaGate();
    const runtime = createRuntime({ admission: gate });
    withTenant('busy', () => {
      for (let i = 0; i < 10_000; i++) runtime.create(echo);
      assert.throws(
        () => runtime.create(echo),
        (error: unknown) =>
          error instanceof QuotaExceededError &&
          error.details?.quota === 'maxAgents' &&
          error.details.limit === 10_000,
      );
    });
    withTenant('quiet', () => runtime.create(echo)); // other tenants have their own count
    gate.setQuotas('busy', { maxAgents: 10_001 });
    withTenant('busy', () => runtime.create(echo));
    withTenant('busy', () => throwsWithCode(() => runtime.create(echo), 'QUOTA_EXCEEDED'));
    await runtime.close();
  });

  it('takes another default, and refuses a bad one', async () => {
    const gate = new TenantQuotaGate({ defaultMaxAgents: 2 });
    assert.equal(gate.admitAgent('t', 1), undefined);
    assert.ok(gate.admitAgent('t', 2) instanceof QuotaExceededError);
    gate.setQuotas('t', { maxConcurrentSteps: 5 });
    assert.ok(
      gate.admitAgent('t', 2) instanceof QuotaExceededError,
      'quotas without maxAgents keep the default',
    );
    throwsWithCode(() => new TenantQuotaGate({ defaultMaxAgents: -1 }), 'INVALID_OPTIONS');
    throwsWithCode(() => new TenantQuotaGate({ defaultMaxAgents: 1.5 }), 'INVALID_OPTIONS');
  });
});

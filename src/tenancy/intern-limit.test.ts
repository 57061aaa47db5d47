// Past 100,000 tenant ids, `tenantContext` used to hand out a fresh object per call, and the
// runtime compared contexts by identity: a late tenant could not list its own agents, could not
// name itself when creating one, and tenant deletion (which listed them) left them behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { currentTenant, tenantContext, withTenant } from '../context/index.ts';
import { createRuntime, defineAgent } from '../core/index.ts';
import { TenantDeletion } from './index.ts';

describe('tenant contexts past 100,000 ids', () => {
  it('a tenant created after the first 100,000 still lists, names and deletes its agents', async () => {
    for (let i = 0; i < 100_001; i++) tenantContext(`bulk-${i}`);
    const late = 'late-tenant';
    assert.equal(tenantContext(late), tenantContext(late), 'the same context while it is held');

    const runtime = createRuntime();
    const echo = defineAgent({ name: 'echo', decide: (x: unknown) => x });
    await withTenant(late, () => runtime.spawn(echo, { id: 'a' }));
    await withTenant(late, () => runtime.spawn(echo, { id: 'b', tenant: late }));
    withTenant(late, () => {
      assert.equal(currentTenant()?.id, late);
      assert.deepEqual(
        runtime.list().map((a) => a.id),
        ['a', 'b'],
      );
    });

    const deletion = new TenantDeletion().add({
      name: 'agents',
      purgeTenant: (id, o) => runtime.purgeTenant(id, o),
    });
    assert.deepEqual((await deletion.delete(late)).purged, { agents: { agents: 2 } });
    assert.equal(runtime.size, 0);
    assert.deepEqual(runtime.tenantUsage(late), { agents: 0, inFlight: 0 });
    await runtime.close();
  });
});

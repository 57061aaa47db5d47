import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { throwsWithCode } from '../../test/helpers.ts';
import { createBus } from '../bus/index.ts';
import { WorkerPool } from '../pool/index.ts';
import {
  currentTenant,
  currentTenantId,
  requireTenant,
  runInTenant,
  tenantContext,
  withoutTenant,
  withTenant,
} from './tenant-context.ts';

describe('tenant context', () => {
  it('is undefined outside, set inside, and restored after withTenant', () => {
    assert.equal(currentTenant(), undefined);
    withTenant('acme', () => {
      assert.equal(currentTenantId(), 'acme');
      withTenant('globex', () => assert.equal(currentTenantId(), 'globex'));
      assert.equal(currentTenantId(), 'acme');
      withoutTenant(() => assert.equal(currentTenantId(), undefined));
      assert.equal(requireTenant().id, 'acme');
    });
    assert.equal(currentTenantId(), undefined);
    throwsWithCode(() => requireTenant(), 'TENANT_REQUIRED');
  });

  it('refuses malformed tenant ids', () => {
    for (const bad of ['', 'a.b', 'a/b', ' x', 'x'.repeat(65), '-x']) {
      throwsWithCode(() => withTenant(bad, () => {}), 'INVALID_TENANT_ID');
    }
  });

  it('interns contexts: one object per tenant id', () => {
    assert.equal(tenantContext('acme'), tenantContext('acme'));
    runInTenant(tenantContext('acme'), (x: number) => assert.equal(x + currentTenantId()!, '1acme'), 1);
  });

  it('survives awaits, timers, immediates and callbacks started inside', async () => {
    const seen: (string | undefined)[] = [];
    await withTenant('t-timers', async () => {
      await delay(1);
      seen.push(currentTenantId());
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          seen.push(currentTenantId());
          resolve();
        }, 1),
      );
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          seen.push(currentTenantId());
          resolve();
        }),
      );
      queueMicrotask(() => seen.push(currentTenantId()));
      await delay(1);
    });
    assert.deepEqual(seen, ['t-timers', 't-timers', 't-timers', 't-timers']);
  });

  it('survives the worker pool queue: a queued task runs as the tenant that queued it', async () => {
    const pool = new WorkerPool({ capacity: 1, queueLimit: 100 });
    let release!: () => void;
    const blocker = pool.run(() => new Promise<void>((r) => (release = r)));
    const runs = ['a', 'b', 'c', 'd'].map((t) =>
      withTenant(t, () => pool.run(async () => currentTenantId())),
    );
    assert.equal(pool.stats().queued, 4);
    release();
    await blocker;
    assert.deepEqual(await Promise.all(runs), ['a', 'b', 'c', 'd']);
    await pool.close();
  });

  it('crosses a bus hop: the handler runs as the publishing tenant, and a tenant subscription sees only its own', async () => {
    const bus = createBus();
    const system: (string | undefined)[] = [];
    const acmeOnly: (string | undefined)[] = [];
    // Handlers take messages in order, so once both have seen acme's last message, every
    // earlier message has reached whoever it was going to reach.
    const systemDone = Promise.withResolvers<void>();
    const acmeDone = Promise.withResolvers<void>();
    await bus.subscribe('orders.>', (m) => {
      system.push(`${m.tenant}:${currentTenantId()}`);
      if (m.topic === 'orders.last') systemDone.resolve();
    });
    await withTenant('acme', () =>
      bus.subscribe('orders.>', (m) => {
        acmeOnly.push(`${m.tenant}:${currentTenantId()}`);
        if (m.topic === 'orders.last') acmeDone.resolve();
      }),
    );
    await withTenant('acme', () => bus.publish('orders.new', 1));
    await withTenant('globex', () => bus.publish('orders.new', 2));
    await bus.publish('orders.new', 3);
    await withTenant('acme', () => bus.publish('orders.last', 4));
    await Promise.all([systemDone.promise, acmeDone.promise]);
    assert.deepEqual(system, ['acme:acme', 'globex:globex', 'undefined:undefined', 'acme:acme']);
    assert.deepEqual(acmeOnly, ['acme:acme', 'acme:acme']);
    await bus.close();
  });

  it('a tenant cannot publish as another tenant; a reply keeps the request tenant', async () => {
    const bus = createBus();
    await assert.rejects(
      withTenant('acme', () => bus.publish('x.y', 1, { tenant: 'globex' })),
      (e: { code?: string }) => e.code === 'TENANT_MISMATCH',
    );
    await bus.subscribe('ask', () => currentTenantId());
    const reply = await withTenant('acme', () => bus.request('ask', null));
    assert.equal(reply.payload, 'acme');
    assert.equal(reply.tenant, 'acme');
    await bus.close();
  });

  it('costs nothing when unused: a message without a tenant runs in no tenant', async () => {
    const bus = createBus();
    const seen: (string | undefined)[] = [];
    const delivered = Promise.withResolvers<void>();
    await withTenant('acme', async () => {
      // A system subscription made inside a tenant would be scoped; make it outside.
      await withoutTenant(() =>
        bus.subscribe('plain', () => {
          seen.push(currentTenantId());
          delivered.resolve();
        }),
      );
    });
    await bus.publish('plain', 1);
    await delivered.promise;
    assert.deepEqual(seen, [undefined]);
    await bus.close();
  });
});

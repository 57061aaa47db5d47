import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { createStateStore } from './agent-state-store.ts';
import { parseStateSyncConfig } from './state-schema.ts';

const NOW = 1_000_000;
const robot = parseStateSyncConfig({
  relevance: { docked: ['dock_id'] },
  ttl: { rules: [{ name: 'docked', when: { anyTag: ['docked'] }, ttlMs: 10_000 }], defaultTtlMs: 2_000 },
  limits: { maxKeys: 2 },
});

describe('AgentStateStore rules per agent (configFor)', () => {
  it('gives an agent the rules configFor returns, and every other agent the store’s', async () => {
    const asked: string[] = [];
    const store = await createStateStore({
      clock: () => NOW,
      configFor: (id) => {
        asked.push(id);
        return id.startsWith('robot') ? robot : undefined;
      },
    });
    const tagged = store.setTags('robot-1', ['docked']);
    assert.deepEqual(tagged.published, []);
    const update = store.set('robot-1', { dock_id: 'd7', position: [0, 0] });
    assert.deepEqual(update.published, ['dock_id']);
    const snapshot = store.get('robot-1');
    assert.equal(snapshot?.ttlRule, 'docked');
    assert.equal(snapshot?.expiresAt, NOW + 10_000);
    throwsWithCode(() => store.set('robot-1', { speed: 1 }), 'STATE_LIMIT_EXCEEDED');

    store.set('drone-1', { a: 1, b: 2, c: 3 }); // the store's default limits: 256 keys
    assert.equal(store.get('drone-1')?.ttlRule, 'default');
    assert.equal(store.get('drone-1')?.expiresAt, NOW + 60_000);
    // Asked once per new state, not per call.
    assert.deepEqual(asked, ['robot-1', 'drone-1']);
    await store.close();
  });

  it('keeps a state’s rules when it is retagged, and asks again once it is gone', async () => {
    let current: typeof robot | undefined = robot;
    const store = await createStateStore({ clock: () => NOW, configFor: () => current });
    store.set('robot-1', { dock_id: 'd1' });
    assert.equal(store.get('robot-1')?.expiresAt, NOW + 2_000);
    current = undefined;
    store.setTags('robot-1', ['docked']);
    assert.equal(store.get('robot-1')?.ttlRule, 'docked');
    store.delete('robot-1');
    store.setTags('robot-1', ['docked']);
    assert.equal(store.get('robot-1')?.ttlRule, 'default');
    await store.close();
  });

  it('asks in the caller’s tenant, so a tenant’s agent gets its own definition’s rules', async () => {
    const store = await createStateStore({
      clock: () => NOW,
      configFor: () => (currentTenantId() === 'acme' ? robot : undefined), // only acme's definition has rules
    });
    withTenant('acme', () => store.set('x', { dock_id: 1 }));
    withTenant('globex', () => store.set('x', { dock_id: 1 }));
    assert.equal(
      withTenant('acme', () => store.get('x')?.expiresAt),
      NOW + 2_000,
    );
    assert.equal(
      withTenant('globex', () => store.get('x')?.expiresAt),
      NOW + 60_000,
    );
    await store.close();
  });

  it('refuses rules that are not valid, naming the agent', async () => {
    const store = await createStateStore({ configFor: () => ({ limits: { maxKeys: 0 } }) });
    throwsWithCode(() => store.set('robot-1', { a: 1 }), 'STATE_CONFIG_INVALID');
    assert.equal(store.get('robot-1'), undefined);
    await store.close();
  });
});

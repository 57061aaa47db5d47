// State fields declared as CRDTs: a write merges (so writers on different stores lose
// nothing, and a repeated delta changes nothing), bad CRDT values are refused with nothing
// applied, and the declaration is validated with the rest of the state rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { createBus } from '../bus/index.ts';
import { withTenant } from '../context/index.ts';
import { GCounter } from '../crdt/index.ts';
import { createStateStore } from './agent-state-store.ts';
import { parseStateSyncConfig, type StateSyncConfigInput } from './state-schema.ts';
import type { StateDelta } from './state-types.ts';

const config: StateSyncConfigInput = {
  alwaysRelevant: ['visits', 'balance', 'owner', 'labels', 'note'],
  crdt: { visits: 'g-counter', balance: 'pn-counter', owner: 'lww-register', labels: 'or-set' },
};

async function store(node: string) {
  return createStateStore({ config, node, clock: () => 1_000_000 });
}

describe('CRDT state fields', () => {
  it('merge a write into the field: two stores’ changes add up, a repeated delta changes nothing', async () => {
    const a = await store('a');
    const b = await store('b');
    a.update('r1', 'visits', 'g-counter', (c) => c.increment(2));
    b.update('r1', 'visits', 'g-counter', (c) => c.increment(3));
    a.update('r1', 'balance', 'pn-counter', (c) => c.increment(10));
    b.update('r1', 'balance', 'pn-counter', (c) => c.decrement(4));
    a.update('r1', 'labels', 'or-set', (s) => s.add('red'));
    b.update('r1', 'labels', 'or-set', (s) => s.add('blue'));
    b.update('r1', 'owner', 'lww-register', (r) => r.set('b'));
    // Each store takes the other's fields as they are: states merge into its own.
    const fromB = b.get('r1')?.values ?? {};
    const merged = a.set('r1', { ...fromB, note: 'plain field' });
    assert.deepEqual(merged.changed.sort(), ['balance', 'labels', 'note', 'owner', 'visits']);
    const values = a.get('r1')?.values ?? {};
    assert.equal(GCounter.from(values.visits).value(), 5);
    assert.deepEqual(values.visits, { type: 'g-counter', counts: { a: 2, b: 3 } });
    assert.deepEqual(values.balance, { type: 'pn-counter', p: { a: 10 }, n: { b: 4 } });
    assert.equal((values.owner as { value: unknown }).value, 'b');
    assert.equal(values.note, 'plain field');
    // The same states again: idempotent, nothing changes and nothing is published.
    assert.deepEqual(a.set('r1', fromB).changed, []);
    // A plain field is still replaced; null still deletes a CRDT field.
    assert.deepEqual(a.set('r1', { note: 'again', owner: null }).removed, ['owner']);
    await a.close();
    await b.close();
  });

  it('publishes the merged state of a relevant CRDT field in the delta', async () => {
    const bus = createBus();
    const s = await createStateStore({ bus, config, node: 'a' });
    const deltas: StateDelta[] = [];
    await bus.subscribe<StateDelta>('agent.*.state_delta', (m) => {
      deltas.push(m.payload);
    });
    await withTenant('acme', async () => {
      await s.update('r1', 'visits', 'g-counter', (c) => c.increment()).sent;
      await s.update('r1', 'visits', 'g-counter', (c) => c.increment()).sent;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(
      deltas.map((d) => d.changed.visits),
      [
        { type: 'g-counter', counts: { a: 1 } },
        { type: 'g-counter', counts: { a: 2 } },
      ],
    );
    await s.close();
    await bus.close();
  });

  it('refuses a value that is not a state of the field’s kind, and an undeclared or mismatched update, applying nothing', async () => {
    const a = await store('a');
    a.update('r1', 'visits', 'g-counter', (c) => c.increment(2));
    const before = a.get('r1');
    for (const bad of [
      { visits: 7 },
      { visits: { type: 'pn-counter', p: { x: 1 } } },
      { visits: { type: 'g-counter', counts: { x: -1 } } },
      {
        note: 'fine',
        owner: { type: 'lww-register', ts: { wall: 1_000_000 + 3_600_000, counter: 0, node: 'x' }, value: 1 },
      },
    ]) {
      throwsWithCode(() => a.set('r1', bad), 'STATE_INVALID');
    }
    throwsWithCode(() => a.update('r1', 'note', 'g-counter', (c) => c.increment()), 'STATE_INVALID');
    throwsWithCode(() => a.update('r1', 'visits', 'pn-counter', (c) => c.increment()), 'STATE_INVALID');
    assert.deepEqual(a.get('r1'), before);
    await a.close();
  });

  it('is declared in the state rules, validated at load', () => {
    assert.deepEqual(parseStateSyncConfig({ crdt: { visits: 'g-counter' } }).crdt, { visits: 'g-counter' });
    assert.deepEqual(parseStateSyncConfig({}).crdt, {});
    throwsWithCode(() => parseStateSyncConfig({ crdt: { visits: 'counter' } }), 'STATE_CONFIG_INVALID');
    throwsWithCode(() => parseStateSyncConfig({ crdt: { '': 'g-counter' } }), 'STATE_CONFIG_INVALID');
  });
});

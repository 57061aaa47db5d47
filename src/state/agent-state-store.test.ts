import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { createBus } from '../bus/index.ts';
import { createStateStore } from './agent-state-store.ts';
import type { StateSyncConfigInput } from './state-schema.ts';
import type { StateDelta } from './state-types.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A store on an in-memory bus with a fixed clock, and the deltas it published. */
async function setup(config?: StateSyncConfigInput) {
  const bus = createBus();
  const store = await createStateStore({ bus, config, clock: () => 1_000_000 });
  const deltas: StateDelta[] = [];
  await bus.subscribe<StateDelta>('agent.*.state_delta', (m) => {
    deltas.push(m.payload);
  });
  const close = async () => {
    await store.close();
    await bus.close();
  };
  return { store, deltas, close };
}

describe('AgentStateStore deltas', () => {
  it('publishes only the changed fields relevant to the current tags', async () => {
    const { store, deltas, close } = await setup();
    store.setTags('r1', ['navigation']);
    const first = store.set('r1', { position: [1, 2], heading: 90, battery_level: 80 });
    assert.deepEqual(first.changed, ['position', 'heading', 'battery_level']);
    assert.deepEqual(first.published, ['position', 'heading']);
    await first.sent;
    const second = store.set('r1', { position: [1, 2], heading: 90, speed: 3, battery_level: 79 });
    assert.deepEqual(second.changed, ['speed', 'battery_level']);
    assert.deepEqual(second.published, ['speed']);
    await turn();
    assert.equal(deltas.length, 3); // setTags, then the two sets
    const [tags, a, b] = deltas;
    assert.deepEqual(tags?.tags, ['navigation']);
    assert.deepEqual(a?.changed, { position: [1, 2], heading: 90 });
    assert.equal(a?.baseVersion, tags?.version);
    assert.equal(a?.version, first.version);
    assert.deepEqual(b?.changed, { speed: 3 });
    assert.deepEqual(b?.removed, []);
    assert.equal(b?.baseVersion, a?.version);
    assert.equal(b?.agentId, 'r1');
    assert.deepEqual(b?.tags, ['navigation']);
    assert.equal(b?.at, 1_000_000);
    await close();
  });

  it('publishes nothing when no relevant field changed, yet bumps the version', async () => {
    const { store, deltas, close } = await setup();
    store.setTags('r1', ['navigation']);
    const v1 = store.set('r1', { heading: 1 }).version;
    const irrelevant = store.set('r1', { battery_level: 50, charging_status: 'on' });
    assert.deepEqual(irrelevant.published, []);
    assert.equal(irrelevant.sent, undefined);
    assert.ok(irrelevant.version > v1);
    const same = store.set('r1', { heading: 1 });
    assert.equal(same.version, irrelevant.version, 'no change, no new version');
    const next = store.set('r1', { heading: 2 });
    await turn();
    assert.equal(deltas.length, 3);
    assert.equal(deltas[2]?.baseVersion, v1, 'baseVersion is the last published view version');
    assert.equal(deltas[2]?.version, next.version);
    assert.equal(store.get('r1')?.viewVersion, next.version);
    await close();
  });

  it('deletes fields set to null, skips undefined, and reports relevant removals', async () => {
    const { store, deltas, close } = await setup({ alwaysRelevant: ['mode'] });
    store.set('r1', { mode: 'walk', note: 'x' });
    const update = store.set('r1', { mode: null, note: null, other: undefined, absent: null });
    assert.deepEqual(update.removed, ['mode', 'note']);
    assert.deepEqual(update.published, ['mode']);
    assert.deepEqual(store.get('r1')?.values, {});
    await turn();
    assert.deepEqual(deltas.at(-1)?.removed, ['mode']);
    assert.deepEqual(deltas.at(-1)?.changed, {});
    await close();
  });

  it('on a tag change publishes the newly relevant values and drops the others from the view', async () => {
    const { store, deltas, close } = await setup();
    store.setTags('r1', ['navigation']);
    store.set('r1', { position: 'p', heading: 1, battery_level: 20, charging_status: 'off', misc: 1 });
    const update = store.setTags('r1', ['low_battery']);
    assert.deepEqual(update.published.sort(), ['battery_level', 'charging_status', 'heading', 'position']);
    await turn();
    const delta = deltas.at(-1);
    assert.deepEqual(delta?.changed, { battery_level: 20, charging_status: 'off' });
    assert.deepEqual(delta?.removed.sort(), ['heading', 'position']);
    assert.deepEqual(delta?.tags, ['low_battery']);
    assert.deepEqual(store.view('r1')?.values, { battery_level: 20, charging_status: 'off' });
    // The same tags (in any order, with duplicates) change nothing.
    const before = deltas.length;
    assert.deepEqual(store.setTags('r1', ['low_battery', 'low_battery']).published, []);
    await turn();
    assert.equal(deltas.length, before);
    await close();
  });

  it('copies and freezes values, so later mutation of the input changes nothing', async () => {
    const { store, close } = await setup();
    const position = { x: 1, y: [2, 3] };
    store.set('r1', { position });
    position.x = 99;
    position.y.push(4);
    const values = store.get('r1')?.values as { position: { x: number; y: number[] } };
    assert.deepEqual(values.position, { x: 1, y: [2, 3] });
    assert.ok(Object.isFrozen(values.position) && Object.isFrozen(values.position.y));
    await close();
  });
});

describe('AgentStateStore validation and limits', () => {
  it('rejects values that are not plain JSON and applies nothing', async () => {
    const { store, close } = await setup();
    store.set('r1', { a: 1 });
    const version = store.get('r1')?.version;
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const bad: unknown[] = [
      () => 1,
      Symbol('s'),
      10n,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Date(),
      new Map(),
      new (class Point {})(),
      cycle,
      new Array(3).fill(1, 0, 1), // sparse: [1, <2 empty items>]
      { nested: [undefined] },
      { [Symbol('k')]: 1 },
    ];
    for (const value of bad) throwsWithCode(() => store.set('r1', { b: 2, c: value }), 'STATE_INVALID');
    throwsWithCode(() => store.set('bad id', { a: 1 }), 'STATE_INVALID');
    throwsWithCode(() => store.set('r1', [] as unknown as Record<string, unknown>), 'STATE_INVALID');
    throwsWithCode(() => store.set('r1', { ['k'.repeat(300)]: 1 }), 'STATE_INVALID');
    throwsWithCode(() => store.setTags('r1', ['Navigation']), 'STATE_INVALID');
    throwsWithCode(() => store.setTags('r1', 'navigation' as unknown as string[]), 'STATE_INVALID');
    assert.deepEqual(store.get('r1')?.values, { a: 1 });
    assert.equal(store.get('r1')?.version, version);
    // Shared (non-cyclic) references, null prototypes and a "__proto__" key are fine.
    const shared = { s: 1 };
    const odd = JSON.parse('{"__proto__": {"x": 1}}');
    store.set('r1', { pair: [shared, shared], bare: Object.assign(Object.create(null), { k: 1 }), odd });
    assert.deepEqual(Object.keys(store.get('r1')?.values.odd as object), ['__proto__']);
    await close();
  });

  it('refuses an update past maxKeys or maxBytes with details, leaving the state as it was', async () => {
    const { store, deltas, close } = await setup({ limits: { maxKeys: 3, maxBytes: 60 } });
    store.setTags('r1', ['navigation']);
    store.set('r1', { position: 1, heading: 2 });
    const before = store.get('r1');
    const keysError = getError(() => store.set('r1', { speed: 3, extra: 4 }));
    assert.deepEqual(keysError.details, { agentId: 'r1', limit: 'maxKeys', max: 3, actual: 4 });
    const bytesError = getError(() => store.set('r1', { speed: 'x'.repeat(40) }));
    assert.equal(bytesError.code, 'STATE_LIMIT_EXCEEDED');
    assert.equal(bytesError.details?.limit, 'maxBytes');
    assert.equal(
      bytesError.details?.actual,
      Buffer.byteLength(JSON.stringify({ position: 1, heading: 2, speed: 'x'.repeat(40) })),
    );
    assert.deepEqual(store.get('r1'), before);
    // Deleting in the same patch makes room.
    store.set('r1', { position: null, speed: 3, extra: 4 });
    assert.deepEqual(store.get('r1')?.values, { heading: 2, speed: 3, extra: 4 });
    assert.equal(store.stats().limitRejections, 2);
    await turn();
    assert.equal(deltas.length, 3);
    await close();
  });

  it('counts bytes exactly for strings, integers, booleans and null, and as a bound for other numbers', async () => {
    const { store, close } = await setup();
    const ops: Array<Record<string, unknown>> = [
      { a: 1, b: 'héllo "quoted"\n', c: [1, { d: null }] },
      { b: null, e: true, ключ: 'значение', big: -9_007_199_254_740_991 },
      { a: -0, c: { deep: ['🚀', false] } },
      { e: null, big: null },
    ];
    for (const op of ops) {
      store.set('r1', op);
      const values = store.get('r1')?.values;
      assert.equal(store.stats().bytes, Buffer.byteLength(JSON.stringify(values)), JSON.stringify(op));
    }
    assert.equal(store.stats().keys, 3);
    store.set('r1', { f: 12345.678 });
    const exact = Buffer.byteLength(JSON.stringify(store.get('r1')?.values));
    assert.equal(store.stats().bytes, exact - '12345.678'.length + 25, 'a fraction counts 25 bytes');
    await close();
  });

  it('measures exactly before refusing when the bound is over maxBytes', async () => {
    const { store, close } = await setup({ limits: { maxBytes: 100 } });
    // 4 fractions: bound 2 + 4 × (3 + 1 + 25) + 3 = 121 > 100; exact JSON is 35 bytes.
    const small = { a: 0.5, b: 0.25, c: 0.75, d: 1.5 };
    assert.deepEqual(store.set('r1', small).changed, ['a', 'b', 'c', 'd']);
    assert.equal(
      store.stats().bytes,
      Buffer.byteLength(JSON.stringify(small)),
      'the exact figure is kept once measured',
    );
    const error = getError(() => store.set('r1', { e: 0.1234567890123, f: 'x'.repeat(40) }));
    assert.equal(
      error.details?.actual,
      Buffer.byteLength(JSON.stringify({ ...small, e: 0.1234567890123, f: 'x'.repeat(40) })),
    );
    assert.deepEqual(store.get('r1')?.values, small);
    await close();
  });
});

function getError(fn: () => unknown): Error & { code: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code: string; details?: Record<string, unknown> };
  }
  assert.fail('expected a throw');
}

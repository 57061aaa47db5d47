import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { withTenant } from '../context/index.ts';
import { type AgentDefinition, createRuntime, defineAgent, type StepContext } from '../core/index.ts';
import type { CompiledAgentSpec } from './compile-agent-spec.ts';
import { stickyBucket, VersionedDefinition } from './versioned-definition.ts';

/** A source: the reply tag, an optional gate the step waits on, an optional input schema. */
interface Source {
  tag: string;
  gate?: Promise<void>;
  input?: z.ZodType;
  concurrency?: number;
  fail?: boolean;
}

function harness(
  t: import('node:test').TestContext,
  options: { onResult?: (v: string, ms: number, ok: boolean) => void } = {},
) {
  const closed: string[] = [];
  const compiles: string[] = [];
  const seen: StepContext[] = [];
  const versions = new VersionedDefinition<Source>({
    name: 'greeter',
    ...options,
    compile: async (source): Promise<CompiledAgentSpec> => {
      if (source.tag === 'broken') throw new Error('does not compile');
      compiles.push(source.tag);
      const definition = defineAgent({
        name: 'greeter',
        input: source.input,
        concurrency: source.concurrency ?? 4,
        decide: async (input: unknown, ctx: StepContext) => {
          seen.push(ctx);
          await source.gate;
          if (source.fail) throw new Error(`${source.tag} failed`);
          return `${source.tag}:${JSON.stringify(input)}`;
        },
      }) as AgentDefinition;
      return { definition, close: async () => void closed.push(source.tag) };
    },
  });
  const runtime = createRuntime();
  t.after(async () => {
    await runtime.close();
    await versions.close();
  });
  return { versions, runtime, closed, compiles, seen };
}

test('a new current version takes new messages while one in flight finishes on its own, then the old one is closed', async (t) => {
  const { versions, runtime, closed } = harness(t);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  await versions.add({ tag: 'a', gate }, { id: 'aaaaaaaaaaaa' });
  runtime.register(versions.definition);
  const agent = await runtime.spawn('greeter', { id: 'g1' });
  const inFlight = agent.send('first');
  const swapped = await versions.add({ tag: 'b' }, { id: 'bbbbbbbbbbbb', label: 'v2' }, { current: true });
  assert.equal(swapped.reshaped, false, 'same shape: the registered router stays');
  assert.equal(versions.current?.version, 'v2@bbbbbbbbbbbb');
  assert.equal(await agent.send('second'), 'b:"second"');
  assert.deepEqual(closed, [], 'the old version is still handling a message');
  release();
  assert.equal(await inFlight, 'a:"first"');
  assert.deepEqual(closed, ['a']);
  const listed = versions.versions();
  assert.deepEqual(
    listed.map((v) => [v.version, v.current, v.loaded]),
    [
      ['r1@aaaaaaaaaaaa', false, false],
      ['v2@bbbbbbbbbbbb', true, true],
    ],
  );
});

test('each step sees the version it runs on, so runs and provenance record it', async (t) => {
  const { versions, runtime, seen } = harness(t);
  await versions.add({ tag: 'a' }, { id: 'aaaaaaaaaaaa', label: 'one' });
  runtime.register(versions.definition);
  await runtime.spawn('greeter', { id: 'g1' });
  await runtime.send('g1', 'x');
  assert.equal(seen.at(-1)?.version, 'one@aaaaaaaaaaaa');
  assert.equal(seen.at(-1)?.agentId, 'g1');
});

test('a version that does not compile is refused and the current one keeps serving', async (t) => {
  const { versions, runtime } = harness(t);
  await versions.add({ tag: 'a' }, { id: 'aaaaaaaaaaaa' });
  runtime.register(versions.definition);
  await runtime.spawn('greeter', { id: 'g1' });
  await assert.rejects(
    versions.add({ tag: 'broken' }, { id: 'cccccccccccc' }, { current: true }),
    /does not compile/,
  );
  assert.equal(await runtime.send('g1', 'x'), 'a:"x"');
  assert.equal(versions.versions().length, 1);
});

test('adding the same content again only moves current, and a rollback reloads a retired version', async (t) => {
  const { versions, runtime, compiles } = harness(t);
  await versions.add({ tag: 'a' }, { id: 'aaaaaaaaaaaa' });
  await versions.add({ tag: 'b' }, { id: 'bbbbbbbbbbbb' }, { current: true });
  runtime.register(versions.definition);
  await runtime.spawn('greeter', { id: 'g1' });
  const again = await versions.add({ tag: 'b' }, { id: 'bbbbbbbbbbbb' }, { current: true });
  assert.equal(again.created, false);
  await versions.setCurrent('r1@aaaaaaaaaaaa');
  assert.equal(await runtime.send('g1', 'x'), 'a:"x"');
  assert.deepEqual(compiles, ['a', 'b', 'a']);
  await assert.rejects(versions.setCurrent('nope'), { code: 'VERSION_NOT_FOUND' });
});

test('a split is sticky per tenant and agent, and reports each version’s results', async (t) => {
  const results: Array<[string, boolean]> = [];
  const { versions, runtime } = harness(t, { onResult: (v, _ms, ok) => results.push([v, ok]) });
  await versions.add({ tag: 'a' }, { id: 'aaaaaaaaaaaa' });
  await versions.add({ tag: 'b', fail: true }, { id: 'bbbbbbbbbbbb' });
  runtime.register(versions.definition);
  await versions.setSplit({ from: 'aaaaaaaaaaaa', to: 'bbbbbbbbbbbb', percent: 30 });
  const seenBy = new Map<string, string>();
  for (let i = 0; i < 60; i++) await runtime.spawn('greeter', { id: `g${i}` });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 60; i++) {
      const id = `g${i}`;
      const got = await runtime.send(id, 'x').then(
        (reply) => String(reply).slice(0, 1),
        () => 'b',
      );
      const expected = stickyBucket(undefined, id) < 3000 ? 'b' : 'a';
      assert.equal(got, expected, `${id} answered by its sticky version`);
      if (seenBy.has(id)) assert.equal(seenBy.get(id), got);
      seenBy.set(id, got);
    }
  }
  const onB = [...seenBy.values()].filter((v) => v === 'b').length;
  assert.ok(onB > 0 && onB < 60, `some agents on each version (${onB} on b)`);
  assert.equal(results.length, 180);
  assert.ok(results.every(([v, ok]) => (v === 'r2@bbbbbbbbbbbb' ? !ok : ok)));
  await versions.setSplit(undefined);
  assert.equal(await runtime.send('g0', 'x'), 'a:"x"');
  await assert.rejects(versions.setSplit({ from: 'aaaaaaaaaaaa', to: 'zzz', percent: 5 }), {
    code: 'VERSION_NOT_FOUND',
  });
  assert.notEqual(stickyBucket('t1', 'g1'), stickyBucket('t2', 'g1'));
});

test('a resumed run goes to the version it started on', async (t) => {
  const { versions, runtime } = harness(t);
  await versions.add({ tag: 'a' }, { id: 'aaaaaaaaaaaa' });
  await versions.add({ tag: 'b' }, { id: 'bbbbbbbbbbbb' }, { current: true });
  runtime.register(versions.definition);

  const store = {
    get: async (tenant: string | undefined, id: string) =>
      tenant === 't1' && id === 'run-1' ? { version: 'r1@aaaaaaaaaaaa' } : undefined,
  };
  await withTenant('t1', async () => {
    await runtime.spawn('greeter', { id: 'g1' });
    assert.equal(await runtime.send('g1', 'x', { run: { id: 'run-1', resume: true, store } }), 'a:"x"');
    assert.equal(await runtime.send('g1', 'x', { run: { id: 'run-2', resume: true, store } }), 'b:"x"');
    assert.equal(await runtime.send('g1', 'x', { run: { id: 'run-1' } }), 'b:"x"');
  });
});

test('messages are checked against the version that handles them', async (t) => {
  const { versions, runtime } = harness(t);
  await versions.add({ tag: 'a', input: z.string() }, { id: 'aaaaaaaaaaaa' });
  await versions.add({ tag: 'b', input: z.string().max(3) }, { id: 'bbbbbbbbbbbb' });
  runtime.register(versions.definition);
  await runtime.spawn('greeter', { id: 'g1' });
  await assert.rejects(runtime.send('g1', 42), { code: 'INVALID_INPUT' });
  await versions.setSplit({ from: 'aaaaaaaaaaaa', to: 'bbbbbbbbbbbb', percent: 100 });
  await assert.rejects(runtime.send('g1', 'long'), { code: 'INVALID_INPUT' });
  assert.equal(await runtime.send('g1', 'ok'), 'b:"ok"');
});

test('old versions beyond `keep` are forgotten, and a change of shape builds a new router', async (t) => {
  const { versions } = harness(t);
  const first = await versions.add({ tag: 'v0' }, { id: 'id0' });
  assert.equal(first.reshaped, true);
  const router = versions.definition;
  const same = await versions.add({ tag: 'v1' }, { id: 'id1' }, { current: true });
  assert.equal(versions.definition, router, 'same shape: the same registered definition');
  assert.equal(same.reshaped, false);
  await versions.add({ tag: 'wide', concurrency: 9 }, { id: 'id2' }, { current: true });
  assert.notEqual(versions.definition, router);
  assert.equal(versions.definition.concurrency, 9);
  for (let i = 3; i < 10; i++) await versions.add({ tag: `v${i}` }, { id: `id${i}` }, { current: true });
  assert.deepEqual(
    versions.versions().map((v) => v.id),
    ['id4', 'id5', 'id6', 'id7', 'id8', 'id9'],
  );
});

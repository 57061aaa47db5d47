import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineAgent, isAgentDefinition } from './agent-definition.ts';

describe('defineAgent', () => {
  it('returns a frozen, branded definition with defaults', () => {
    const def = defineAgent({ name: 'echo', decide: (x: number) => x + 1 });
    assert.ok(Object.isFrozen(def));
    assert.ok(isAgentDefinition(def));
    assert.equal(def.concurrency, 1);
    assert.equal(def.onStepError, 'reject');
    assert.equal(isAgentDefinition({ ...def }), false, 'a copy is not a validated definition');
  });

  it('accepts an object with decide() as cognition and binds it', () => {
    const engine = {
      bias: 10,
      decide(x: number) {
        return x + this.bias;
      },
    };
    const def = defineAgent({ name: 'biased', decide: engine });
    assert.equal(def.decide(1, undefined as never), 11);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['empty name', { name: '', decide: () => 1 }, /name/],
    ['name with a slash', { name: 'a/b', decide: () => 1 }, /name/],
    ['concurrency 0', { name: 'a', decide: () => 1, concurrency: 0 }, /concurrency/],
    ['fractional concurrency', { name: 'a', decide: () => 1, concurrency: 1.5 }, /concurrency/],
    ['negative stop timeout', { name: 'a', decide: () => 1, stopTimeoutMs: -1 }, /stopTimeoutMs/],
    ['unknown step policy', { name: 'a', decide: () => 1, onStepError: 'ignore' }, /onStepError/],
    ['missing decide', { name: 'a' }, /decide/],
    ['decide not callable', { name: 'a', decide: 42 }, /decide/],
    ['perceive not a function', { name: 'a', decide: () => 1, perceive: 'x' }, /perceive/],
    ['input not a schema', { name: 'a', decide: () => 1, input: { type: 'object' } }, /input/],
  ];
  for (const [label, spec, pattern] of bad) {
    it(`rejects ${label} with INVALID_OPTIONS`, () => {
      assert.throws(
        () => defineAgent(spec as never),
        (error: { code?: string; message: string }) =>
          error.code === 'INVALID_OPTIONS' && pattern.test(error.message),
      );
    });
  }

  it('accepts zod schemas for input and config', () => {
    const def = defineAgent({
      name: 'typed',
      input: z.object({ n: z.number() }),
      config: z.object({ k: z.number() }),
      decide: ({ n }: { n: number }) => n,
    });
    assert.ok(def.input);
    assert.ok(def.config);
  });
});

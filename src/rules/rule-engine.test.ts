import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { throwsWithCode } from '../../test/helpers.ts';
import { compileCondition, type JsonCondition } from './condition.ts';
import { rules } from './rule-engine.ts';
import { rulesFromJSON } from './rules-from-json.ts';

describe('RuleEngine', () => {
  it('decides the seed trust example', () => {
    const engine = rules<{ trusted: boolean }, { status: string }>({
      rules: [
        {
          when: { path: 'trusted', op: 'eq', value: true },
          decision: { status: 'EXECUTED' },
          reason: 'Auth passed',
        },
      ],
      otherwise: { decision: { status: 'REJECTED' }, reason: 'Missing trust header' },
    });
    assert.deepEqual(engine.decide({ trusted: true }), {
      value: { status: 'EXECUTED' },
      reason: 'Auth passed',
      confidence: 1,
      rule: 'rule-0',
    });
    assert.deepEqual(engine.decide({ trusted: false }), {
      value: { status: 'REJECTED' },
      reason: 'Missing trust header',
      confidence: 1,
      rule: 'otherwise',
    });
  });

  it('tries rules in order, first match wins, with computed values', () => {
    const engine = rules<{ level: number }, string>({
      rules: [
        {
          name: 'critical',
          when: (p) => p.level < 5,
          decision: (p) => `dock now (${p.level}%)`,
          reason: 'battery critical',
          confidence: 0.99,
        },
        {
          name: 'low',
          when: { path: 'level', op: 'lt', value: 20 },
          decision: 'plan dock',
          reason: 'battery low',
          confidence: 0.8,
        },
        {
          name: 'also-low',
          when: { path: 'level', op: 'lt', value: 30 },
          decision: 'never',
          reason: 'shadowed',
        },
      ],
    });
    assert.equal(engine.decide({ level: 3 }).value, 'dock now (3%)');
    assert.deepEqual(engine.decide({ level: 10 }), {
      value: 'plan dock',
      reason: 'battery low',
      confidence: 0.8,
      rule: 'low',
    });
    assert.equal(engine.decide({ level: 25 }).rule, 'also-low');
    throwsWithCode(() => engine.decide({ level: 90 }), 'RULES_NO_MATCH');
    assert.equal(engine.size, 3);
    assert.deepEqual(
      engine.describe().map((r) => r.name),
      ['critical', 'low', 'also-low'],
    );
  });

  it('rejects malformed rule sets, naming the rule', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ rules: [] }, /at least one rule/],
      [{ rules: [{ when: true, decision: 1, reason: 'r', confidence: 2 }] }, /rule 0 \(rule-0\): confidence/],
      [{ rules: [{ when: true, decision: 1, reason: 'r', confidence: Number.NaN }] }, /confidence/],
      [{ rules: [{ name: 'x', when: true, decision: 1, reason: '' }] }, /rule 0 \(x\): reason/],
      [
        { rules: [{ name: 'x', when: { path: 'a', op: 'like' }, decision: 1, reason: 'r' }] },
        /x.*unknown op/,
      ],
      [
        { rules: [{ name: 'x', when: { path: 'a', op: 'matches', value: '(' }, decision: 1, reason: 'r' }] },
        /x.*bad pattern/,
      ],
      [
        { rules: [{ name: 'x', when: { path: 'a', op: 'in', value: 3 }, decision: 1, reason: 'r' }] },
        /in needs an array/,
      ],
      [
        {
          rules: [
            { name: 'd', when: true, decision: 1, reason: 'r' },
            { name: 'd', when: true, decision: 2, reason: 'r' },
          ],
        },
        /rule 1 \(d\): duplicate/,
      ],
      [{ rules: 'nope' }, /rules must be an array/],
    ];
    for (const [spec, pattern] of cases) {
      assert.throws(
        () => rules(spec as never),
        (error: { code?: string; message: string }) =>
          error.code === 'INVALID_RULES' && pattern.test(error.message),
        JSON.stringify(spec),
      );
    }
  });
});

describe('JSON conditions', () => {
  const input = { a: { b: 3, s: 'Hello' }, list: [{ id: 'x' }], flag: false, n: null };
  const check = (c: JsonCondition) => compileCondition(c)(input);

  it('evaluates every operator', () => {
    assert.equal(check({ path: 'a.b', op: 'eq', value: 3 }), true);
    assert.equal(check({ path: 'a.b', op: 'ne', value: 3 }), false);
    assert.equal(check({ path: 'a.b', op: 'gt', value: 2 }), true);
    assert.equal(check({ path: 'a.b', op: 'gte', value: 3 }), true);
    assert.equal(check({ path: 'a.b', op: 'lt', value: 3 }), false);
    assert.equal(check({ path: 'a.b', op: 'lte', value: 3 }), true);
    assert.equal(check({ path: 'a.s', op: 'gt', value: 'A' }), true);
    assert.equal(check({ path: 'a.s', op: 'gt', value: 1 }), false, 'string vs number never compares');
    assert.equal(check({ path: 'a.b', op: 'in', value: [1, 3] }), true);
    assert.equal(check({ path: 'a.b', op: 'nin', value: [1, 3] }), false);
    assert.equal(check({ path: 'list.0.id', op: 'eq', value: 'x' }), true);
    assert.equal(check({ path: 'list.1.id', op: 'exists' }), false);
    assert.equal(check({ path: 'n', op: 'exists' }), true);
    assert.equal(check({ path: 'missing', op: 'exists', value: false }), true);
    assert.equal(check({ path: 'a.s', op: 'matches', value: '^hel', flags: 'ig' }), true);
    assert.equal(
      check({ path: 'a.s', op: 'matches', value: '^hel', flags: 'ig' }),
      true,
      'g flag keeps no state',
    );
    assert.equal(check({ path: 'a.b', op: 'matches', value: '3' }), false, 'matches only strings');
    assert.equal(
      check({ all: [{ path: 'a.b', op: 'eq', value: 3 }, { not: { path: 'flag', op: 'eq', value: true } }] }),
      true,
    );
    assert.equal(
      check({
        any: [
          { path: 'flag', op: 'eq', value: true },
          { path: 'a.b', op: 'lt', value: 0 },
        ],
      }),
      false,
    );
    assert.equal(check(true), true);
    assert.equal(compileCondition({ path: 'a', op: 'exists' })(null), false);
  });

  it('agrees with a reference interpreter on random inputs (property)', () => {
    const value = fc.oneof(
      fc.integer({ min: -3, max: 3 }),
      fc.constantFrom('a', 'b', 'c'),
      fc.boolean(),
      fc.constant(null),
    );
    const path = fc.constantFrom('x', 'y', 'o.z', 'o.w', 'arr.0', 'none');
    const leaf = fc.oneof(
      fc.record({ path, op: fc.constantFrom('eq', 'ne', 'exists'), value }),
      fc.record({
        path,
        op: fc.constantFrom('gt', 'gte', 'lt', 'lte'),
        value: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b')),
      }),
      fc.record({ path, op: fc.constantFrom('in', 'nin'), value: fc.array(value, { maxLength: 3 }) }),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ all: fc.array(tie('tree'), { maxLength: 3 }) }),
        fc.record({ any: fc.array(tie('tree'), { maxLength: 3 }) }),
        fc.record({ not: tie('tree') }),
      ),
    }));
    const doc = fc.record(
      {
        x: value,
        y: value,
        o: fc.record({ z: value, w: value }, { requiredKeys: [] }),
        arr: fc.array(value, { maxLength: 2 }),
      },
      { requiredKeys: ['x'] },
    );
    fc.assert(
      fc.property(tree as fc.Arbitrary<JsonCondition>, doc, (condition, input) => {
        assert.equal(compileCondition(condition)(input), reference(condition, input));
      }),
      { numRuns: 2000 },
    );
  });
});

function lookup(input: unknown, path: string): { found: boolean; value?: unknown } {
  let current: unknown = input;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !(key in (current as object)))
      return { found: false };
    current = (current as Record<string, unknown>)[key];
  }
  return { found: true, value: current };
}

function reference(c: JsonCondition, input: unknown): boolean {
  if (c === true) return true;
  if ('all' in c) return c.all.every((x) => reference(x, input));
  if ('any' in c) return c.any.some((x) => reference(x, input));
  if ('not' in c) return !reference(c.not, input);
  const { found, value } = lookup(input, c.path);
  switch (c.op) {
    case 'eq':
      return found && value === c.value;
    case 'ne':
      return !(found && value === c.value);
    case 'exists':
      return c.value === false ? !found : found;
    case 'in':
      return found && (c.value as unknown[]).includes(value);
    case 'nin':
      return !(found && (c.value as unknown[]).includes(value));
    default: {
      if (!found || typeof value !== typeof c.value) return false;
      const a = value as number;
      const b = c.value as number;
      return c.op === 'gt' ? a > b : c.op === 'gte' ? a >= b : c.op === 'lt' ? a < b : a <= b;
    }
  }
}

describe('rulesFromJSON', () => {
  it('builds an engine from a valid document', () => {
    const engine = rulesFromJSON<string>({
      rules: [
        {
          name: 'urgent',
          when: { path: 'priority', op: 'gte', value: 8 },
          decision: 'page',
          reason: 'urgent',
          confidence: 0.9,
        },
      ],
      otherwise: { decision: 'queue', reason: 'routine' },
    });
    assert.equal(engine.decide({ priority: 9 }).value, 'page');
    assert.equal(engine.decide({ priority: 1 }).value, 'queue');
  });

  it('rejects malformed documents with INVALID_RULES and the path', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['rules', /root/],
      [{ rules: [{ when: true, decision: 1, reason: 'r', confidence: 2 }] }, /rules\.0\.confidence/],
      [
        { rules: [{ when: { path: 'a', op: 'like', value: 1 }, decision: 1, reason: 'r' }] },
        /rules\.0\.when/,
      ],
      [
        { rules: [{ when: { path: 'a', op: 'matches', value: '[' }, decision: 1, reason: 'r' }] },
        /bad pattern/,
      ],
      [{ rules: [{ when: true, reason: 'r' }] }, /decision/],
      [{ rules: [{ when: true, decision: 1, reason: 7 }] }, /reason/],
      [{ rules: [], extra: 1 }, /extra|Unrecognized/i],
    ];
    for (const [doc, pattern] of bad) {
      assert.throws(
        () => rulesFromJSON(doc),
        (error: { code?: string; message: string }) =>
          error.code === 'INVALID_RULES' && pattern.test(error.message),
        JSON.stringify(doc),
      );
    }
  });
});

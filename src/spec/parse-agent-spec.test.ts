import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAgentSpec, SpecInvalidError, type SpecProblem } from './index.ts';

function problemsOf(text: string, source = 'a.yaml'): SpecProblem[] {
  try {
    parseAgentSpec(text, { source });
  } catch (error) {
    assert.ok(error instanceof SpecInvalidError);
    assert.equal(error.code, 'SPEC_INVALID');
    return [...error.problems];
  }
  assert.fail('expected SPEC_INVALID');
}

describe('parseAgentSpec', () => {
  it('accepts a valid YAML spec and fills defaults', () => {
    const spec = parseAgentSpec('name: a\ncognition: { type: knowledge }\nknowledge: {}\n', {
      source: 'a.yaml',
    });
    assert.equal(spec.name, 'a');
    assert.equal(spec.knowledge?.k, 3);
  });

  it('names every problem with its path and line:column', () => {
    const problems = problemsOf(
      'name: a\ncognition:\n  type: llm\n  model: gpt-4o\nfoo: 1\nconcurrency: many\n',
    );
    const byPath = new Map(problems.map((p) => [p.path, p]));
    assert.equal(problems.length, 3);
    assert.match(byPath.get('cognition.model')?.message ?? '', /provider\/model/);
    assert.deepEqual([byPath.get('cognition.model')?.line, byPath.get('cognition.model')?.column], [4, 10]);
    assert.equal(byPath.get('foo')?.line, 5);
    assert.match(byPath.get('foo')?.message ?? '', /not a known field/);
    assert.equal(byPath.get('concurrency')?.line, 6);
  });

  it('refuses an unknown cognition type at cognition.type', () => {
    const [p] = problemsOf('name: a\ncognition:\n  type: magic\n');
    assert.equal(p?.path, 'cognition.type');
    assert.equal(p?.line, 3);
  });

  it('reports bad YAML syntax with its line', () => {
    const [p] = problemsOf('name: a\ncognition: [\n  type: llm\n');
    assert.match(p?.message ?? '', /not YAML/);
    assert.equal(typeof p?.line, 'number');
  });

  it('reports bad JSON syntax with its line and column', () => {
    const [p] = problemsOf('{"name": "a",\n "cognition": {"type": "knowledge"},}', 'a.json');
    assert.match(p?.message ?? '', /not JSON/);
    assert.deepEqual([p?.line, p?.column], [2, 37]);
  });

  it('places problems of JSON specs too', () => {
    const [p] = problemsOf('{\n  "name": "a",\n  "cognition": {"type": "rules", "rules": 5}\n}', 'a.json');
    assert.equal(p?.path, 'cognition.rules');
    assert.equal(p?.line, 3);
  });

  it('refuses a JSON Schema that does not compile, and tools on a non-llm cognition', () => {
    const problems = problemsOf(
      'name: a\ncognition: { type: knowledge }\ninput: { type: 7 }\ntools: [{ type: knowledge-search }]\n',
    );
    assert.deepEqual(problems.map((p) => p.path).sort(), ['input', 'tools']);
  });

  it('refuses system and systemFile together, two tools with one name, an MCP server with both transports', () => {
    const problems = problemsOf(
      [
        'name: a',
        'cognition: { type: llm, model: openai/m, system: x, systemFile: y.md }',
        'tools:',
        '  - { type: mcp, command: srv, url: "http://x" }',
      ].join('\n'),
    );
    assert.deepEqual(problems.map((p) => p.path).sort(), ['cognition.systemFile', 'tools.0.command']);
    const [dup] = problemsOf(
      'name: a\ncognition: { type: llm, model: openai/m }\ntools:\n  - { type: knowledge-search, name: s }\n  - { type: knowledge-search, name: s }\n',
    );
    assert.deepEqual([dup?.path, dup?.line], ['tools.1.name', 5]);
  });

  it('validates resilience and state with their own schemas', () => {
    const problems = problemsOf(
      'name: a\ncognition: { type: llm, model: openai/m }\nresilience: { timeoutMs: -1 }\nstate: { limits: { maxKeys: 0 } }\nfallbacks: [nope]\n',
    );
    assert.deepEqual(problems.map((p) => p.path).sort(), [
      'fallbacks.0',
      'resilience.timeoutMs',
      'state.limits.maxKeys',
    ]);
  });

  it('validates a budget: its limits, its period, no unknown field, at least one limit', () => {
    const spec = (budget: string) =>
      `name: a\ncognition: { type: llm, model: openai/m }\nbudget: ${budget}\n`;
    assert.deepEqual(
      parseAgentSpec(spec('{ tokensPerPeriod: 1000, costPerPeriod: 0.5 }'), { source: 'a.yaml' }).budget,
      { tokensPerPeriod: 1000, costPerPeriod: 0.5, periodSeconds: 86_400 },
    );
    assert.deepEqual(
      problemsOf(spec('{ tokensPerPeriod: -1, periodSeconds: 0 }'))
        .map((p) => p.path)
        .sort(),
      ['budget.periodSeconds', 'budget.tokensPerPeriod'],
    );
    assert.equal(problemsOf(spec('{ tokens: 5 }'))[0]?.path.startsWith('budget'), true);
    assert.equal(problemsOf(spec('{ periodSeconds: 60 }'))[0]?.path, 'budget');
    assert.equal(problemsOf(spec('ten'))[0]?.path, 'budget');
  });

  it('refuses a rule set the rule engine refuses', () => {
    const [p] = problemsOf('name: a\ncognition:\n  type: rules\n  rules: []\n');
    assert.equal(p?.path, 'cognition.rules');
    assert.equal(p?.line, 4);
  });

  it('accepts $schema', () => {
    assert.equal(parseAgentSpec('$schema: ./x.json\nname: a\ncognition: { type: knowledge }\n').name, 'a');
  });
});

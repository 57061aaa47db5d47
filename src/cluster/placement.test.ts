import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeAgent } from './index.ts';

const keys = Array.from({ length: 10_000 }, (_, i) => `acme.agent-${i}`);

describe('placeAgent (rendezvous hashing)', () => {
  it('gives every node about its share, the same on every node', () => {
    const nodes = ['n1', 'n2', 'n3'];
    const counts = new Map<string, number>();
    for (const key of keys) {
      const node = placeAgent(key, nodes) as string;
      assert.equal(
        placeAgent(key, [...nodes].reverse()),
        node,
        'the order of the member list does not matter',
      );
      counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    for (const node of nodes) {
      const share = (counts.get(node) ?? 0) / keys.length;
      assert.ok(share > 0.28 && share < 0.39, `${node}: ${share}`);
    }
    assert.equal(placeAgent('x', []), undefined);
  });

  it('moves only what it must when a node joins or leaves', () => {
    const before = keys.map((k) => placeAgent(k, ['n1', 'n2', 'n3']));
    const joined = keys.map((k) => placeAgent(k, ['n1', 'n2', 'n3', 'n4']));
    const moved = joined.filter((node, i) => node !== before[i]);
    assert.ok(
      moved.every((node) => node === 'n4'),
      'a joining node only takes agents',
    );
    assert.ok(moved.length / keys.length > 0.2 && moved.length / keys.length < 0.3);
    const left = keys.map((k) => placeAgent(k, ['n1', 'n3']));
    left.forEach((node, i) => {
      if (before[i] !== 'n2') assert.equal(node, before[i], 'agents of the nodes that stay do not move');
    });
  });
});

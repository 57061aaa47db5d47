import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StabilisationWindow } from './stabilisation-window.ts';

describe('StabilisationWindow', () => {
  it('goes up at once, and down only to the highest size wanted in the window', () => {
    const w = new StabilisationWindow(100);
    assert.equal(w.stabilise(0, 2, 5), 5);
    assert.equal(w.stabilise(50, 5, 3), 5);
    assert.equal(w.stabilise(90, 5, 1), 5);
    assert.equal(w.stabilise(101, 5, 1), 3, 'the 5 (at 0) has left; the 3 (at 50) is the highest');
    assert.equal(w.stabilise(151, 3, 1), 1);
  });

  it('holds memory bounded under a steady fall, whatever the number of evaluations', () => {
    const w = new StabilisationWindow(1_000_000);
    for (let i = 0; i < 10_000; i++) w.stabilise(i, 10, i % 2 === 0 ? 4 : 3);
    assert.ok(w.size <= 2, `${w.size} entries`);
  });
});

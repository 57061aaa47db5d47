import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelCap, OTHER_LABEL } from './label-cap.ts';

describe('LabelCap', () => {
  it('passes the first `limit` distinct values and maps later ones to other', () => {
    const cap = new LabelCap(2);
    assert.equal(cap.value('a'), 'a');
    assert.equal(cap.value('b'), 'b');
    assert.equal(cap.value('c'), OTHER_LABEL);
    assert.equal(cap.value('a'), 'a');
    assert.equal(cap.value('b'), 'b');
    assert.equal(cap.size, 2);
  });

  it('names empty values unknown and cuts long ones to 128 characters', () => {
    const cap = new LabelCap(10);
    assert.equal(cap.value(''), 'unknown');
    assert.equal(cap.value('x'.repeat(500)), 'x'.repeat(128));
    assert.equal(cap.value(`${'x'.repeat(128)}y`), 'x'.repeat(128));
    assert.equal(cap.size, 2);
  });
});

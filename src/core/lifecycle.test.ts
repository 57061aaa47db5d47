import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_STATES, canTransition, IllegalTransitionError, isFinal } from './lifecycle.ts';

describe('lifecycle', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = AGENT_STATES.flatMap((from) =>
      AGENT_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    assert.deepEqual(allowed.sort(), [
      'pending->failed',
      'pending->running',
      'pending->stopped',
      'running->failed',
      'running->stopping',
      'stopping->failed',
      'stopping->stopped',
    ]);
  });

  it('treats stopped and failed as final', () => {
    assert.deepEqual(
      AGENT_STATES.filter((s) => isFinal(s)),
      ['stopped', 'failed'],
    );
  });

  it('has a typed error with a stable code', () => {
    const error = new IllegalTransitionError('a-1', 'stopped', 'running', 'start');
    assert.equal(error.code, 'ILLEGAL_TRANSITION');
    assert.match(error.message, /a-1.*stopped → running/);
    assert.deepEqual(error.details, { agentId: 'a-1', from: 'stopped', to: 'running' });
  });
});

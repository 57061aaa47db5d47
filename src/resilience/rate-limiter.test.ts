import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { rateLimiterContract } from '../testing/index.ts';
import { createRateLimiter } from './rate-limiter.ts';

rateLimiterContract('memory', { open: (config) => createRateLimiter(config) });

describe('createRateLimiter, in memory', () => {
  it('the token bucket answers synchronously when allowed (no promise per call)', () => {
    const limiter = createRateLimiter({ type: 'token-bucket', capacity: 2, refillPerSecond: 1 });
    assert.equal(limiter.consume('k'), undefined);
    assert.ok(limiter.description.endsWith('memory'));
  });

  it('refuses bad config naming the value', () => {
    throwsWithCode(
      () => createRateLimiter({ type: 'token-bucket', capacity: 0, refillPerSecond: 1 }),
      'INVALID_OPTIONS',
    );
  });
});

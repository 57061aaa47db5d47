import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorFromFailure, errorFromStatus, parseRetryAfter } from './errors.ts';

describe('LLM errors', () => {
  it('maps statuses to stable codes, with Retry-After on 429', () => {
    assert.equal(errorFromStatus('p', 401, { message: 'bad key' }, undefined).code, 'LLM_AUTH');
    assert.equal(errorFromStatus('p', 403, { message: 'no' }, undefined).code, 'LLM_AUTH');
    const limited = errorFromStatus('p', 429, { message: 'slow down' }, '7');
    assert.equal(limited.code, 'LLM_RATE_LIMITED');
    assert.equal(limited.retryAfterMs, 7_000);
    assert.equal(limited.retryable, true);
    assert.equal(
      errorFromStatus('p', 400, { message: 'x', code: 'context_length_exceeded' }, undefined).code,
      'LLM_CONTEXT_LENGTH',
    );
    assert.equal(
      errorFromStatus('p', 400, { message: 'prompt is too long: 300000 tokens' }, undefined).code,
      'LLM_CONTEXT_LENGTH',
    );
    assert.equal(errorFromStatus('p', 400, { message: 'bad field' }, undefined).code, 'LLM_BAD_REQUEST');
    const server = errorFromStatus('p', 529, { message: 'overloaded' }, undefined);
    assert.equal(server.code, 'LLM_SERVER_ERROR');
    assert.deepEqual(server.details, { provider: 'p', status: 529 });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('1.5'), 1_500);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it('maps transport failures: abort, timeouts, resets', () => {
    const controller = new AbortController();
    controller.abort();
    assert.equal(errorFromFailure('p', new Error('x'), controller.signal).code, 'ABORTED');
    assert.equal(
      errorFromFailure('p', Object.assign(new Error('t'), { code: 'UND_ERR_BODY_TIMEOUT' }), undefined).code,
      'LLM_TIMEOUT',
    );
    assert.equal(
      errorFromFailure(
        'p',
        Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
        undefined,
      ).code,
      'LLM_CONNECTION_FAILED',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime } from '../core/index.ts';
import { AgentfleetServer } from './http-server.ts';

describe('HTTP server options', () => {
  it('refuses a bad plain value with INVALID_OPTIONS naming the option', async () => {
    const runtime = createRuntime();
    try {
      assert.throws(
        () => new AgentfleetServer({ runtime, auth: { authenticator: 'none' }, bodyLimitBytes: -1 }),
        (error: Error & { code?: string }) =>
          error.code === 'INVALID_OPTIONS' && /bodyLimitBytes/.test(error.message),
      );
      assert.throws(
        () =>
          new AgentfleetServer({
            runtime,
            auth: { authenticator: 'none' },
            streams: { drainTimeoutMs: 1.5 },
          }),
        (error: Error & { code?: string }) =>
          error.code === 'INVALID_OPTIONS' && /streams\.drainTimeoutMs/.test(error.message),
      );
    } finally {
      await runtime.close();
    }
  });
});

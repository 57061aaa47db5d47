import assert from 'node:assert/strict';

/** An error as the code assertions return it: any `Error` with Agentfleet's `code` and `details`. */
export type CodedError = Error & { code: string; details?: Record<string, unknown> };

/**
 * Asserts that `promise` rejects with an error whose `code` is `code`, and returns the error
 * (for further checks on its details).
 * @throws AssertionError when it resolves, or rejects with another code.
 */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<CodedError> {
  try {
    await promise;
  } catch (error) {
    assert.equal((error as { code?: string }).code, code, `expected ${code}, got ${String(error)}`);
    return error as CodedError;
  }
  assert.fail(`expected a rejection with ${code}, but it resolved`);
}

/**
 * Asserts that `fn` throws an error whose `code` is `code`.
 * @throws AssertionError when it returns, or throws with another code.
 */
export function throwsWithCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: { code?: string }) => {
    assert.equal(error.code, code, `expected ${code}, got ${String(error)}`);
    return true;
  });
}

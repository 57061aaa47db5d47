import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode } from '../../test/helpers.ts';
import { currentTenantId, withTenant } from '../context/index.ts';
import { withTimeout } from './timeout.ts';

/** A call that never settles by itself; reports its signal and the tenant its abort listener ran as. */
function hangingCall(seen: Array<string | undefined>, signals: AbortSignal[]) {
  return (signal: AbortSignal) => {
    signals.push(signal);
    signal.addEventListener('abort', () => seen.push(currentTenantId()), { once: true });
    return new Promise<never>(() => {});
  };
}

describe('withTimeout', () => {
  it('runs each call’s abort listener in its own tenant, whichever call armed the shared timer', async () => {
    const seen: Array<string | undefined> = [];
    const signals: AbortSignal[] = [];
    // Armed back to back with the same timeout: the same 5 ms slot, one timer armed by tenant a.
    const a = withTenant('tenant-a', () => withTimeout(hangingCall(seen, signals), 10));
    const b = withTenant('tenant-b', () => withTimeout(hangingCall(seen, signals), 10));
    const c = withTimeout(hangingCall(seen, signals), 10);
    await rejectsWithCode(a, 'CALL_TIMEOUT');
    await rejectsWithCode(b, 'CALL_TIMEOUT');
    await rejectsWithCode(c, 'CALL_TIMEOUT');
    assert.deepEqual(seen.sort(), ['tenant-a', 'tenant-b', undefined].sort());
  });

  it('a caller’s abort reaches the call’s listener in the call’s tenant, not the aborter’s', async () => {
    const seen: Array<string | undefined> = [];
    const controller = new AbortController();
    const call = withTenant('tenant-a', () => withTimeout(hangingCall(seen, []), 60_000, controller.signal));
    call.catch(() => {});
    withTenant('tenant-b', () => controller.abort(new Error('stop')));
    assert.deepEqual(seen, ['tenant-a']);
  });

  it('gives every call without a signal its own: one timing out does not abort another that finished', async () => {
    const signals: AbortSignal[] = [];
    const finished = withTimeout(async (signal) => {
      signals.push(signal);
      return 'done';
    }, 10);
    const hanging = withTimeout(hangingCall([], signals), 10);
    assert.equal(await finished, 'done');
    await rejectsWithCode(hanging, 'CALL_TIMEOUT');
    assert.equal(signals.length, 2);
    assert.notEqual(signals[0], signals[1], 'one signal per call');
    assert.equal(signals[1]!.aborted, true);
    assert.equal(
      signals[0]!.aborted,
      false,
      'the finished call’s signal (a stream may still use it) stays live',
    );
  });
});

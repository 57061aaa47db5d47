import { CallTimeoutError } from './errors.ts';

/**
 * Runs `fn` with a signal that aborts after `timeoutMs` (or when `parent` aborts) and rejects
 * with `CALL_TIMEOUT` at the deadline even if `fn` ignores its signal. The timer is cleared
 * when the call settles.
 */
export function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  parent?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new CallTimeoutError(timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    };
    let pending: Promise<T>;
    try {
      pending = fn(controller.signal);
    } catch (error) {
      done();
      reject(error);
      return;
    }
    pending.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

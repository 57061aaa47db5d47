/** Marks a stop step that ran out of time. */
export const TIMED_OUT: unique symbol = Symbol('timed-out');

/** What a lifecycle hook (`onStop`) threw. */
export interface HookFailure {
  error: unknown;
}

/** Runs a hook and resolves with what it threw, or undefined; it never rejects. */
export async function runHook<C>(hook: (ctx: C) => unknown, ctx: C): Promise<HookFailure | undefined> {
  try {
    await hook(ctx);
    return undefined;
  } catch (error) {
    return { error };
  }
}

/** Resolves with `TIMED_OUT` after `ms` milliseconds unless cancelled first (cancel it, or the timer stays). */
export function startDeadline(ms: number): { promise: Promise<typeof TIMED_OUT>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Does nothing: swallows a settled promise's outcome. */
export function noop(): void {}

import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { eventually, rejectsWithCode, sleep, throwsWithCode } from '../../test/helpers.ts';
import { WorkerPool } from './worker-pool.ts';

setFlagsFromString('--expose-gc');
/** A full garbage collection (the flag above makes `gc` available to new contexts). */
const collectGarbage = runInNewContext('gc') as () => void;

function randomDelay(): Promise<void> | undefined {
  const roll = Math.random();
  if (roll < 0.3) return undefined; // synchronous task
  if (roll < 0.6) return Promise.resolve(); // a microtask
  return sleep(Math.random() * 2);
}

describe('WorkerPool', () => {
  it('runs a task at once and passes results and errors through', async () => {
    const pool = new WorkerPool({ capacity: 2 });
    assert.equal(await pool.run(() => 1), 1);
    assert.equal(await pool.run(async () => 2), 2);
    const boom = new Error('boom');
    await assert.rejects(
      pool.run(() => {
        throw boom;
      }),
      (e) => e === boom,
    );
    await assert.rejects(
      pool.run(async () => {
        throw boom;
      }),
      (e) => e === boom,
    );
    const stats = pool.stats();
    assert.equal(stats.completed, 2);
    assert.equal(stats.failed, 2);
    assert.equal(stats.running, 0);
  });

  it('never exceeds capacity over 100,000 submissions with random delays', async () => {
    const capacity = 64;
    const pool = new WorkerPool({ capacity, queueLimit: 1_000, whenFull: 'wait' });
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const runs = new Uint8Array(100_000);
    const submissions: Promise<unknown>[] = [];
    for (let i = 0; i < 100_000; i++) {
      submissions.push(
        pool.run(() => {
          running++;
          runs[i]!++;
          if (running > maxRunning) maxRunning = running;
          const delay = randomDelay();
          if (delay === undefined) {
            running--;
            done++;
            return;
          }
          return delay.then(() => {
            running--;
            done++;
          });
        }),
      );
    }
    await Promise.all(submissions);
    assert.ok(maxRunning <= capacity, `ran ${maxRunning} at once with capacity ${capacity}`);
    assert.equal(maxRunning, capacity, 'the pool was actually saturated');
    assert.equal(done, 100_000);
    assert.ok(
      runs.every((n) => n === 1),
      'every task ran exactly once',
    );
    assert.equal(pool.stats().completed, 100_000);
  });

  it('respects the capacity in force while resized up and down mid-run', async () => {
    const pool = new WorkerPool({ capacity: 8, queueLimit: 100_000 });
    let running = 0;
    let violations = 0;
    let maxRunning = 0;
    const submissions: Promise<unknown>[] = [];
    const sizes = [32, 1, 17, 3, 24, 8, 30, 2, 12, 5];
    for (let i = 0; i < 20_000; i++) {
      submissions.push(
        pool.run(async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          if (running > pool.capacity) violations++;
          await randomDelay();
          running--;
        }),
      );
      if (i % 2_000 === 1_999) {
        await submissions[i - 1_000]; // let the pool make progress at the size in force
        pool.resize(sizes[(i - 1_999) / 2_000]!);
      }
    }
    await Promise.all(submissions);
    assert.equal(violations, 0);
    assert.ok(maxRunning > 8, 'growing let more run at once');
  });

  it('resize up starts queued tasks at once; resize down lets running tasks finish and admits fewer', async () => {
    const pool = new WorkerPool({ capacity: 1 });
    const gates = Array.from({ length: 4 }, () => Promise.withResolvers<void>());
    const started: number[] = [];
    const tasks = gates.map((gate, i) =>
      pool.run(() => {
        started.push(i);
        return gate.promise;
      }),
    );
    await eventually(() => started.length === 1);
    assert.deepEqual([pool.stats().running, pool.stats().queued], [1, 3]);
    pool.resize(3);
    assert.equal(pool.capacity, 3);
    await eventually(() => started.length === 3);
    assert.deepEqual(started, [0, 1, 2], 'two queued tasks started without any task finishing');
    pool.resize(1);
    assert.equal(pool.stats().running, 3, 'shrinking stops nothing that runs');
    gates[0]!.resolve();
    gates[1]!.resolve();
    await Promise.all([tasks[0], tasks[1]]);
    assert.deepEqual(
      [pool.stats().running, pool.stats().queued],
      [1, 1],
      'the queued task waits: 1 runs, capacity 1',
    );
    gates[2]!.resolve();
    await tasks[2];
    await eventually(() => started.length === 4);
    gates[3]!.resolve();
    await tasks[3];
    assert.equal(pool.stats().completed, 4);
    assert.equal(pool.stats().failed, 0);
  });

  it('rejects with POOL_OVERLOADED when full in reject mode', async () => {
    const pool = new WorkerPool({ capacity: 1, queueLimit: 1, whenFull: 'reject' });
    const gate = Promise.withResolvers<void>();
    const a = pool.run(() => gate.promise);
    const b = pool.run(() => 'queued');
    const error = await rejectsWithCode(
      pool.run(() => 'refused'),
      'POOL_OVERLOADED',
    );
    assert.deepEqual(error.details, { capacity: 1, queueLimit: 1, running: 1, queued: 1, waiting: 0 });
    gate.resolve();
    await a;
    assert.equal(await b, 'queued');
    assert.equal(pool.stats().rejected, 1);
  });

  it('makes callers wait in FIFO order when full in wait mode, up to maxWaiting', async () => {
    const pool = new WorkerPool({ capacity: 1, queueLimit: 1, whenFull: 'wait', maxWaiting: 2 });
    const gate = Promise.withResolvers<void>();
    const order: number[] = [];
    const all = [pool.run(() => gate.promise)];
    for (let i = 0; i < 3; i++) all.push(pool.run(() => void order.push(i)));
    assert.deepEqual([pool.stats().queued, pool.stats().waiting], [1, 2]);
    await rejectsWithCode(
      pool.run(() => {}),
      'POOL_OVERLOADED',
    );
    gate.resolve();
    await Promise.all(all);
    assert.deepEqual(order, [0, 1, 2]);
    assert.ok(pool.stats().waitTimeMs.count >= 3);
  });

  it('drops queued and waiting tasks whose signal fires, keeping stats exact and removing listeners', async () => {
    const pool = new WorkerPool({ capacity: 1, queueLimit: 1, whenFull: 'wait' });
    const gate = Promise.withResolvers<void>();
    const first = pool.run(() => gate.promise);
    const queuedAbort = new AbortController();
    const waitingAbort = new AbortController();
    let ran = 0;
    const queued = pool.run(() => void ran++, { signal: queuedAbort.signal });
    const waiting = pool.run(() => void ran++, { signal: waitingAbort.signal });
    const last = pool.run(() => 'last');
    assert.equal(getEventListeners(queuedAbort.signal, 'abort').length, 1);
    queuedAbort.abort(new Error('gone'));
    waitingAbort.abort();
    const error = await rejectsWithCode(queued, 'ABORTED');
    assert.equal((error.cause as Error).message, 'gone');
    await rejectsWithCode(waiting, 'ABORTED');
    assert.equal(getEventListeners(queuedAbort.signal, 'abort').length, 0);
    assert.equal(getEventListeners(waitingAbort.signal, 'abort').length, 0);
    assert.deepEqual([pool.stats().queued, pool.stats().waiting, pool.stats().aborted], [1, 0, 2]);
    gate.resolve();
    await first;
    assert.equal(await last, 'last');
    assert.equal(ran, 0);
    await rejectsWithCode(
      pool.run(() => {}, { signal: AbortSignal.abort() }),
      'ABORTED',
    );
  });

  it('lets go of abandoned submissions while busy, so senders that keep aborting cannot grow it', async () => {
    const pool = new WorkerPool({ capacity: 1, queueLimit: 4, whenFull: 'wait' });
    const gate = Promise.withResolvers<void>();
    const first = pool.run(() => gate.promise);
    const tasks: WeakRef<object>[] = [];
    for (let i = 0; i < 2_000; i++) {
      const task = () => i;
      tasks.push(new WeakRef(task));
      const controller = new AbortController();
      const submitted = pool.run(task, { signal: controller.signal });
      controller.abort();
      await rejectsWithCode(submitted, 'ABORTED');
    }
    assert.deepEqual([pool.stats().queued, pool.stats().aborted], [0, 2_000]);
    await new Promise(setImmediate); // WeakRefs are kept alive until the current job ends
    collectGarbage();
    const held = tasks.filter((t) => t.deref() !== undefined).length;
    assert.ok(held < 100, `${held} of 2,000 abandoned tasks are still held`);
    gate.resolve();
    await first;
    assert.equal(await pool.run(() => 'still works'), 'still works');
  });

  it('removes the abort listener once a queued task starts', async () => {
    const pool = new WorkerPool({ capacity: 1 });
    const gate = Promise.withResolvers<void>();
    const controller = new AbortController();
    const first = pool.run(() => gate.promise);
    const second = pool.run(() => 2, { signal: controller.signal });
    gate.resolve();
    await first;
    assert.equal(await second, 2);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('runs a queued task in its caller’s async context, not the previous task’s', async () => {
    const storage = new AsyncLocalStorage<string>();
    const pool = new WorkerPool({ capacity: 1 });
    const seen: Array<string | undefined> = [];
    const gate = Promise.withResolvers<void>();
    const all = [
      storage.run('tenant-a', () =>
        pool.run(async () => {
          await gate.promise;
          seen.push(storage.getStore());
        }),
      ),
      storage.run('tenant-b', () => pool.run(() => seen.push(storage.getStore()))),
      pool.run(() => seen.push(storage.getStore())),
      storage.run('tenant-c', () => pool.run(async () => seen.push(storage.getStore()))),
    ];
    gate.resolve();
    await Promise.all(all);
    assert.deepEqual(seen, ['tenant-a', 'tenant-b', undefined, 'tenant-c']);
  });

  it('resolves onIdle when everything is done', async () => {
    const pool = new WorkerPool({ capacity: 2 });
    await pool.onIdle();
    const gate = Promise.withResolvers<void>();
    let finished = 0;
    for (let i = 0; i < 10; i++) {
      pool.run(async () => {
        await gate.promise;
        finished++;
      });
    }
    const finishedWhenIdle = pool.onIdle().then(() => finished);
    assert.deepEqual([pool.stats().running, pool.stats().queued], [2, 8]);
    gate.resolve();
    assert.equal(await finishedWhenIdle, 10, 'onIdle resolved only after the last task');
    const stuck = Promise.withResolvers<void>();
    pool.run(() => stuck.promise);
    await rejectsWithCode(pool.onIdle({ signal: AbortSignal.abort() }), 'ABORTED');
    const idle = pool.onIdle();
    stuck.resolve();
    await idle;
  });

  it('drains on close by default and refuses new work', async () => {
    const pool = new WorkerPool({ capacity: 1 });
    const gate = Promise.withResolvers<void>();
    let finished = 0;
    const tasks = Array.from({ length: 5 }, () =>
      pool.run(async () => {
        await gate.promise;
        finished++;
      }),
    );
    const finishedWhenClosed = pool.close().then(() => finished);
    await rejectsWithCode(
      pool.run(() => 1),
      'POOL_CLOSED',
    );
    gate.resolve();
    assert.equal(await finishedWhenClosed, 5, 'close resolved only after the queued tasks ran');
    await Promise.all(tasks);
    await rejectsWithCode(
      pool.run(() => 1),
      'POOL_CLOSED',
    );
    assert.equal(pool.close(), pool.close());
  });

  it('rejects queued work when closed without drain, and stops waiting when the signal fires', async () => {
    const pool = new WorkerPool({ capacity: 1 });
    const gate = Promise.withResolvers<void>();
    const running = pool.run(() => gate.promise);
    const queued = pool.run(() => 'never');
    const closing = pool.close({ drain: false });
    await rejectsWithCode(queued, 'POOL_CLOSED');
    gate.resolve();
    await closing;
    await running;

    const stuck = new WorkerPool({ capacity: 1 });
    stuck.run(() => new Promise(() => {}));
    const late = stuck.run(() => 'never');
    const controller = new AbortController();
    const closed = stuck.close({ signal: controller.signal });
    controller.abort();
    await closed;
    await rejectsWithCode(late, 'POOL_CLOSED');
  });

  it('closes through Symbol.asyncDispose', async () => {
    let finished = false;
    {
      await using pool = new WorkerPool();
      pool.run(async () => {
        await new Promise(setImmediate);
        finished = true;
      });
    }
    assert.equal(finished, true);
  });

  it('rejects bad options and bad resizes, naming the value', () => {
    for (const capacity of [0, -1, 1.5, 'x']) {
      assert.throws(
        () => new WorkerPool({ capacity: capacity as number }),
        (e: { code?: string; message: string }) => e.code === 'INVALID_OPTIONS' && /capacity/.test(e.message),
      );
    }
    throwsWithCode(() => new WorkerPool({ queueLimit: -1 }), 'INVALID_OPTIONS');
    throwsWithCode(() => new WorkerPool({ whenFull: 'drop' as 'wait' }), 'INVALID_OPTIONS');
    throwsWithCode(() => new WorkerPool({ maxWaiting: 2.5 }), 'INVALID_OPTIONS');
    for (const capacity of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      throwsWithCode(() => new WorkerPool().resize(capacity), 'INVALID_OPTIONS');
    }
    const pool = new WorkerPool({ capacity: 3 });
    assert.throws(() => pool.resize(0));
    assert.equal(pool.capacity, 3, 'a refused resize changes nothing');
  });
});

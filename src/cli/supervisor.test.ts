import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, throwsWithCode } from '../../test/helpers.ts';
import { createLogger } from '../context/index.ts';
import { superviseWorkers } from './supervisor.ts';

const fixture = fileURLToPath(new URL('../../test/fixtures/supervised-worker.ts', import.meta.url));
const WAIT_MS = 30_000; // forking Node processes on a shared CI machine

/** Slots of the workers that said they are ready, from their AGENTFLEET_WORKER_SLOT. */
const ready: string[] = [];
cluster.on('message', (_worker, message: { ready?: boolean; slot?: string }) => {
  if (message.ready === true) ready.push(message.slot ?? '?');
});
const liveWorkers = () => Object.keys(cluster.workers ?? {}).length;

it('setWorkers forks the missing slots, retires the highest ones without restarting them, and stop ends all', async () => {
  cluster.setupPrimary({ exec: fixture, silent: true });
  const exits: number[] = [];
  const supervisor = superviseWorkers(
    // A long back-off and a limit of 1: a retired worker taken for a failure would show as a pending
    // restart, or (two of them) as the give-up, exit 1.
    {
      workers: 1,
      restartBaseMs: 600_000,
      restartMaxMs: 600_000,
      restartLimit: 1,
      exit: (code) => exits.push(code),
    },
    createLogger({ level: 'silent' }),
  );
  await eventually(() => ready.length === 1, WAIT_MS);

  supervisor.setWorkers(3);
  assert.deepEqual(supervisor.info(), { workers: 3, slots: [0, 1, 2], retiring: 0, restartsPending: 0 });
  await eventually(() => ready.length === 3, WAIT_MS);
  assert.deepEqual([...ready].sort(), ['0', '1', '2']);

  supervisor.setWorkers(1);
  assert.deepEqual(supervisor.info(), { workers: 1, slots: [0], retiring: 2, restartsPending: 0 });
  await eventually(() => liveWorkers() === 1 && supervisor.info().retiring === 0, WAIT_MS);
  assert.deepEqual(supervisor.info(), { workers: 1, slots: [0], retiring: 0, restartsPending: 0 });
  assert.equal(ready.length, 3, 'no retired worker was forked again');

  supervisor.setWorkers(1); // the same count: nothing happens
  assert.equal(liveWorkers(), 1);
  for (const n of [0, -1, 1.5, Number.NaN, 1_025])
    throwsWithCode(() => supervisor.setWorkers(n), 'INVALID_OPTIONS');

  supervisor.setWorkers(2);
  await eventually(() => ready.length === 4, WAIT_MS);
  assert.equal(ready[3], '1', 'the freed slot is reused');

  supervisor.stop();
  await eventually(() => exits.length === 1, WAIT_MS);
  assert.deepEqual(exits, [0]);
  assert.equal(liveWorkers(), 0);
  assert.equal(cluster.listenerCount('exit'), 0, 'the supervisor removed its listener');
  cluster.removeAllListeners('message');
});

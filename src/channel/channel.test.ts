import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveResources, rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import { Channel, DONE } from './index.ts';

describe('Channel', () => {
  it('rejects a negative or fractional capacity', () => {
    throwsWithCode(() => new Channel(-1), 'INVALID_OPTIONS');
    throwsWithCode(() => new Channel(1.5), 'INVALID_OPTIONS');
  });

  it('rendezvous: a send completes only when a receiver takes the value', async () => {
    const ch = new Channel<number>(0);
    assert.equal(ch.trySend(1), false, 'no receiver waiting');
    let sent = false;
    const sending = ch.send(1).then(() => {
      sent = true;
    });
    await Promise.resolve();
    assert.equal(sent, false);
    assert.deepEqual(ch.tryRecv(), { done: false, value: 1 });
    await sending;
    assert.equal(sent, true);
    const receiving = ch.recv();
    assert.equal(ch.trySend(2), true, 'a receiver is waiting');
    assert.deepEqual(await receiving, { done: false, value: 2 });
  });

  it('buffered: trySend fills up to capacity, then send waits (backpressure)', async () => {
    const ch = new Channel<number>(2);
    assert.equal(ch.trySend(1), true);
    assert.equal(ch.trySend(2), true);
    assert.equal(ch.trySend(3), false);
    assert.equal(ch.length, 2);
    let sent = false;
    const sending = ch.send(3).then(() => {
      sent = true;
    });
    await Promise.resolve();
    assert.equal(sent, false);
    assert.deepEqual(ch.tryRecv(), { done: false, value: 1 });
    await sending;
    assert.deepEqual(
      [ch.tryRecv(), ch.tryRecv(), ch.tryRecv()],
      [{ done: false, value: 2 }, { done: false, value: 3 }, undefined],
    );
  });

  it('a send that completes at once returns the same settled promise (no allocation)', () => {
    const ch = new Channel<number>(4);
    assert.equal(ch.send(1), ch.send(2));
  });

  it('close wakes receivers with done, rejects waiting senders, still delivers buffered values', async () => {
    const empty = new Channel<number>(0);
    const waitingReceiver = empty.recv();
    const waitingSender = new Channel<number>(1);
    waitingSender.trySend(1);
    const blocked = waitingSender.send(2);
    empty.close();
    waitingSender.close();
    assert.deepEqual(await waitingReceiver, DONE);
    await rejectsWithCode(blocked, 'CHANNEL_CLOSED');
    assert.deepEqual(waitingSender.tryRecv(), { done: false, value: 1 });
    assert.deepEqual(waitingSender.tryRecv(), DONE);
    await rejectsWithCode(waitingSender.send(3), 'CHANNEL_CLOSED');
    throwsWithCode(() => waitingSender.trySend(3), 'CHANNEL_CLOSED');
    waitingSender.close();
  });

  it('for await ends when the channel is closed and drained', async () => {
    const ch = new Channel<number>(8);
    const producing = (async () => {
      for (let i = 0; i < 20; i++) await ch.send(i);
      ch.close();
    })();
    const got: number[] = [];
    for await (const value of ch) got.push(value);
    await producing;
    assert.deepEqual(
      got,
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('an aborted send or receive takes no effect and leaves no listener', async () => {
    const ch = new Channel<number>(0);
    const controller = new AbortController();
    const send = ch.send(1, { signal: controller.signal });
    const recvController = new AbortController();
    const other = new Channel<number>(0);
    const recv = other.recv({ signal: recvController.signal });
    controller.abort();
    recvController.abort();
    await rejectsWithCode(send, 'ABORTED');
    await rejectsWithCode(recv, 'ABORTED');
    assert.equal(ch.tryRecv(), undefined, 'the aborted value was not delivered');
    assert.equal(other.trySend(5), false, 'the aborted receiver no longer waits');
    await rejectsWithCode(ch.recv({ signal: AbortSignal.abort() }), 'ABORTED');
  });

  it('after 10,000 aborted waits the channel still hands a value to a live receiver', async () => {
    const ch = new Channel<number>(0);
    for (let i = 0; i < 10_000; i++) {
      const controller = new AbortController();
      const pending = ch.recv({ signal: controller.signal });
      controller.abort();
      await pending.catch(() => {});
    }
    const receiving = ch.recv();
    assert.equal(ch.trySend(7), true);
    assert.deepEqual(await receiving, { done: false, value: 7 });
    assert.equal(liveResources().Timeout ?? 0, 0);
  });
});

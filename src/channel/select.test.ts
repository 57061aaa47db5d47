import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveResources, rejectsWithCode } from '../../test/helpers.ts';
import { Channel, select, trySelect } from './index.ts';

describe('select', () => {
  it('returns default when nothing is ready and default is asked for', async () => {
    const a = new Channel<number>(0);
    assert.deepEqual(await select([{ recv: a }], { default: true }), { kind: 'default' });
    assert.equal(trySelect([{ recv: a }, { send: a, value: 1 }]), undefined);
  });

  it('takes a ready receive or send case', async () => {
    const a = new Channel<number>(1);
    const b = new Channel<number>(0);
    assert.deepEqual(await select([{ recv: b }, { send: a, value: 5 }]), { kind: 'send', index: 1 });
    assert.deepEqual(await select([{ recv: a }, { recv: b }]), {
      kind: 'recv',
      index: 0,
      done: false,
      value: 5,
    });
  });

  it('waits until one case becomes ready, and only that case takes effect', async () => {
    const a = new Channel<string>(0);
    const b = new Channel<string>(0);
    const waiting = select([{ recv: a }, { recv: b }]);
    assert.equal(b.trySend('b'), true);
    assert.deepEqual(await waiting, { kind: 'recv', index: 1, done: false, value: 'b' });
    assert.equal(a.trySend('a'), false, 'the losing case is no longer waiting');
  });

  it('a waiting send case hands its value to the next receiver', async () => {
    const a = new Channel<number>(0);
    const waiting = select([{ send: a, value: 42 }], { timeout: 1_000 });
    assert.deepEqual(a.tryRecv(), { done: false, value: 42 });
    assert.deepEqual(await waiting, { kind: 'send', index: 0 });
    assert.equal(liveResources().Timeout ?? 0, 0, 'the timeout timer was cleared');
  });

  it('times out, with no case taking effect', async () => {
    const a = new Channel<number>(0);
    assert.deepEqual(await select([{ recv: a }, { send: a, value: 1 }], { timeout: 5 }), { kind: 'timeout' });
    assert.equal(a.tryRecv(), undefined);
  });

  it('rejects on abort and on a send case whose channel closes', async () => {
    const a = new Channel<number>(0);
    const controller = new AbortController();
    const waiting = select([{ recv: a }], { signal: controller.signal });
    controller.abort();
    await rejectsWithCode(waiting, 'ABORTED');
    await rejectsWithCode(select([{ recv: a }], { signal: AbortSignal.abort() }), 'ABORTED');
    const sending = select([{ send: a, value: 1 }]);
    a.close();
    await rejectsWithCode(sending, 'CHANNEL_CLOSED');
    assert.deepEqual(await select([{ recv: a }]), { kind: 'recv', index: 0, done: true, value: undefined });
  });

  it('is fair between ready cases (each of 3 within 30–36.7% of 30,000 picks)', async () => {
    const channels = [new Channel<number>(1), new Channel<number>(1), new Channel<number>(1)];
    const picks = [0, 0, 0];
    for (const ch of channels) ch.trySend(0);
    const cases = channels.map((recv) => ({ recv }));
    for (let i = 0; i < 30_000; i++) {
      const result = await select(cases);
      assert.equal(result.kind, 'recv');
      const index = (result as { index: number }).index;
      picks[index] = (picks[index] ?? 0) + 1;
      (channels[index] as Channel<number>).trySend(0);
    }
    // Binomial(30000, 1/3): σ ≈ 82, so these bounds are ±12σ — a real bias fails, noise does not.
    for (const count of picks) assert.ok(count > 9_000 && count < 11_000, `picks ${picks.join(',')}`);
  });

  it('a receiver that keeps selecting never starves a slow case', async () => {
    const busy = new Channel<number>(1024);
    const rare = new Channel<number>(1);
    for (let i = 0; i < 1024; i++) busy.trySend(i);
    rare.trySend(-1);
    let seenRare = -1;
    for (let i = 0; i < 64 && seenRare < 0; i++) {
      const r = await select([{ recv: busy }, { recv: rare }]);
      if (r.kind === 'recv' && r.index === 1) seenRare = i;
    }
    assert.ok(seenRare >= 0, 'the rare case was picked within 64 selects (p of failing = 2^-64)');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import { decodeEnvelope, type Envelope, jsonCodec, msgpackCodec, nextMessageId } from './index.ts';

const envelope: Envelope = {
  id: nextMessageId(),
  topic: 'a.b',
  time: 1_700_000_000_000,
  tenant: 't1',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  headers: { k: 'v' },
  replyTo: undefined,
  payload: { list: [1, 'two', null], nested: { ok: true } },
};

describe('codecs and envelope validation', () => {
  it('round-trips an envelope through JSON and MessagePack, detecting which on decode', () => {
    for (const codec of [jsonCodec, msgpackCodec]) {
      assert.deepEqual(decodeEnvelope(codec.encode(envelope)), envelope, codec.name);
    }
  });

  it('message ids are unique', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => nextMessageId()));
    assert.equal(ids.size, 10_000);
  });

  it('names the wrong field of a malformed envelope', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[1, 2], /not an object/],
      [{ ...envelope, id: 5 }, /id/],
      [{ ...envelope, topic: '' }, /topic/],
      [{ ...envelope, time: 'now' }, /time/],
      [{ ...envelope, tenant: 7 }, /tenant/],
      [{ ...envelope, traceparent: 'abc' }, /traceparent/],
      [{ ...envelope, headers: { a: 1 } }, /header/],
      [{ id: 'x', topic: 't', time: 1 }, /payload/],
    ];
    for (const [value, why] of bad) {
      throwsWithCode(() => decodeEnvelope(jsonCodec.encode(value as Envelope)), 'MESSAGE_UNDECODABLE');
      assert.throws(() => decodeEnvelope(jsonCodec.encode(value as Envelope)), why);
    }
    throwsWithCode(() => decodeEnvelope(Buffer.from([0xff, 0xfe, 0x7b])), 'MESSAGE_UNDECODABLE');
    throwsWithCode(() => decodeEnvelope(Buffer.from('{"id":')), 'MESSAGE_UNDECODABLE');
  });
});

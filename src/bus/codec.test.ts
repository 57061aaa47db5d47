import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsWithCode } from '../../test/helpers.ts';
import {
  type Codec,
  codecFor,
  codecLookup,
  decodeFrame,
  type Envelope,
  encodeFrame,
  jsonCodec,
  msgpackCodec,
  nextMessageId,
} from './index.ts';

const envelope: Envelope = {
  id: nextMessageId(),
  topic: 'a.b',
  time: 1_700_000_000_000,
  tenant: 't1',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  headers: { k: 'v w', 'x-ü': 'ünïcode\nline' },
  replyTo: '_INBOX.n.1',
  payload: { list: [1, 'two', null], nested: { ok: true }, text: 'AF1 \n' },
};
const lookup = codecLookup(jsonCodec);
const frame = (line: string, payload = '{}') => Buffer.from(`AF1 ${line}\n${payload}`);

describe('wire frames and codecs', () => {
  it('round-trips an envelope through JSON and MessagePack frames, whichever codec the receiver uses', () => {
    for (const codec of [jsonCodec, msgpackCodec]) {
      const bytes = encodeFrame(envelope, codec);
      assert.deepEqual(decodeFrame(bytes, 'a.b', codecLookup(jsonCodec)), envelope, codec.name);
      assert.deepEqual(decodeFrame(bytes, 'a.b', codecLookup(msgpackCodec)), envelope, codec.name);
    }
    const bare: Envelope = {
      ...envelope,
      tenant: undefined,
      traceparent: undefined,
      replyTo: undefined,
      headers: {},
    };
    const bytes = encodeFrame(bare, jsonCodec);
    assert.ok(Buffer.from(bytes).toString().startsWith(`AF1 json ${bare.id} ${bare.time}    \n`));
    assert.deepEqual(decodeFrame(bytes, 'a.b', lookup), bare);
  });

  it('carries binary payloads through MessagePack as Uint8Array', () => {
    const bytes = encodeFrame({ ...envelope, payload: new Uint8Array([0, 1, 255]) }, msgpackCodec);
    const got = decodeFrame(bytes, 'a.b', lookup);
    assert.ok(got.payload instanceof Uint8Array && !Buffer.isBuffer(got.payload));
    assert.deepEqual([...(got.payload as Uint8Array)], [0, 1, 255]);
  });

  it('decodes a custom codec only where the receiver knows it', () => {
    const upper: Codec = {
      name: 'upper-text',
      encode: (payload) => Buffer.from(String(payload).toUpperCase()),
      decode: (data) => Buffer.from(data).toString(),
    };
    const bytes = encodeFrame({ ...envelope, payload: 'hi' }, codecFor(upper));
    assert.equal(decodeFrame(bytes, 'a.b', codecLookup(upper)).payload, 'HI');
    assert.throws(() => decodeFrame(bytes, 'a.b', lookup), /unknown codec "upper-text"/);
    throwsWithCode(() => codecFor({ ...upper, name: 'has space' }), 'INVALID_OPTIONS');
  });

  it('takes JSON that is not a frame (a sensor, `nats pub`) as a payload with a fresh id', () => {
    const got = decodeFrame(Buffer.from('{"temp":21.5}'), 'site.sensor', lookup);
    assert.deepEqual(got.payload, { temp: 21.5 });
    assert.equal(got.topic, 'site.sensor');
    assert.ok(got.id.length > 0 && Math.abs(got.time - Date.now()) < 60_000);
  });

  it('names what is wrong with a malformed frame', () => {
    const t = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const bad: Array<[Uint8Array, RegExp]> = [
      [Buffer.from('AF1 json id 1    '), /no end/],
      [frame('json id 1'), /too few fields/],
      [frame('nope id 1    '), /unknown codec/],
      [frame('json  1    '), /id must/],
      [frame('json id now    '), /time/],
      [frame('json id -5    '), /time/],
      [frame('json id 99999999999999999    '), /time/],
      [frame(`json id 1 t abc  `), /traceparent/],
      [frame(`json id 1 t ${t}  {"a":1}`), /header values/],
      [frame(`json id 1 t ${t}  [1]`), /headers must be an object/],
      [frame(`json id 1 t ${t}  {`), /headers are not JSON/],
      [frame('json id 1    ', '{"a":'), /malformed json payload/],
      [frame('msgpack id 1    ', '\xc1'), /malformed msgpack payload/],
      [
        Buffer.concat([Buffer.from('AF1 json \xff'), Buffer.from([0xff]), Buffer.from(' 1    \n{}')]),
        /not UTF-8/,
      ],
      [Buffer.from([0xff, 0xfe, 0x7b]), /neither an Agentfleet frame nor JSON/],
      [Buffer.from('{"id":'), /neither/],
      [Buffer.alloc(0), /neither/],
    ];
    for (const [bytes, why] of bad) {
      throwsWithCode(() => decodeFrame(bytes, 'a.b', lookup), 'MESSAGE_UNDECODABLE');
      assert.throws(() => decodeFrame(bytes, 'a.b', lookup), why);
    }
  });

  it('message ids are unique', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => nextMessageId()));
    assert.equal(ids.size, 10_000);
  });
});

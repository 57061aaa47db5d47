import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import { InvalidOptionsError } from '../errors/index.ts';

/**
 * Turns payloads into bytes for wire transports (NATS, MQTT) and back. The envelope's own
 * fields travel in a short text header line in front (see `frame.ts`), so a codec only ever
 * sees the payload.
 */
export interface Codec {
  /** Written in each message's header line so receivers pick the same codec: letters, digits, `-`, `_`. */
  readonly name: string;
  encode(payload: unknown): Uint8Array;
  /** Returns the decoded (not yet trusted) value; throws on malformed bytes. */
  decode(data: Uint8Array): unknown;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** JSON text (UTF-8). The default: readable with any NATS or MQTT tool. */
export const jsonCodec: Codec = {
  name: 'json',
  encode: (payload) => Buffer.from(JSON.stringify(payload) ?? 'null'),
  decode: (data) => JSON.parse(textDecoder.decode(data)),
};

/** MessagePack: smaller and carries binary payloads (`Uint8Array`) as they are. */
export const msgpackCodec: Codec = {
  name: 'msgpack',
  encode: (payload) => msgpackEncode(payload, { ignoreUndefined: true }),
  // A Node Buffer in would make binary payloads come out as Buffers; decode a plain view instead.
  decode: (data) => msgpackDecode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
};

const CODEC_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** Resolves a codec option; a custom codec's name must be a short token (it goes on the wire). */
export function codecFor(codec: 'json' | 'msgpack' | Codec | undefined): Codec {
  if (codec === undefined || codec === 'json') return jsonCodec;
  if (codec === 'msgpack') return msgpackCodec;
  if (typeof codec?.name !== 'string' || !CODEC_NAME.test(codec.name)) {
    throw new InvalidOptionsError(
      `A codec's name must match ${CODEC_NAME}; got ${JSON.stringify(codec?.name)}.`,
    );
  }
  return codec;
}

import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import type { Envelope } from './envelope.ts';
import { toEnvelope } from './envelope.ts';
import { MessageUndecodableError } from './errors.ts';

/** Turns envelopes into bytes for wire transports (NATS, MQTT) and back. */
export interface Codec {
  readonly name: string;
  encode(envelope: Envelope): Uint8Array;
  /** Returns the decoded (not yet validated) value; throws on malformed bytes. */
  decode(data: Uint8Array): unknown;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** JSON text (UTF-8). The default: readable with any NATS or MQTT tool. */
export const jsonCodec: Codec = {
  name: 'json',
  encode: (envelope) => Buffer.from(JSON.stringify(envelope)),
  decode: (data) => JSON.parse(textDecoder.decode(data)),
};

/** MessagePack: smaller and carries binary payloads (`Uint8Array`) as they are. */
export const msgpackCodec: Codec = {
  name: 'msgpack',
  encode: (envelope) => msgpackEncode(envelope, { ignoreUndefined: true }),
  // A Node Buffer in would make binary payloads come out as Buffers; decode a plain view instead.
  decode: (data) => msgpackDecode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
};

/** Resolves a codec option. */
export function codecFor(codec: 'json' | 'msgpack' | Codec | undefined): Codec {
  if (codec === undefined || codec === 'json') return jsonCodec;
  if (codec === 'msgpack') return msgpackCodec;
  return codec;
}

/**
 * Decodes bytes from the wire whichever built-in codec wrote them (JSON text starts with
 * `{`, `[` or whitespace; a MessagePack map or array never does), so nodes using different codecs still understand each
 * other. Throws `MESSAGE_UNDECODABLE` with the reason.
 */
export function decodeEnvelope(data: Uint8Array, custom?: Codec): Envelope {
  let value: unknown;
  try {
    if (custom !== undefined && custom !== jsonCodec && custom !== msgpackCodec) value = custom.decode(data);
    else value = looksLikeJson(data[0]) ? jsonCodec.decode(data) : msgpackCodec.decode(data);
  } catch (error) {
    throw new MessageUndecodableError(`malformed bytes (${(error as Error).message})`, { cause: error });
  }
  return toEnvelope(value);
}

/** `{`, `[`, space, tab, CR, LF: bytes that start JSON text but never a MessagePack map or array. */
function looksLikeJson(first: number | undefined): boolean {
  return (
    first === 0x7b || first === 0x5b || first === 0x20 || first === 0x09 || first === 0x0a || first === 0x0d
  );
}

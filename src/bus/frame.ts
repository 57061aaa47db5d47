import { type Codec, jsonCodec, msgpackCodec } from './codec.ts';
import { type Envelope, isTraceparent, nextMessageId } from './envelope.ts';
import { MessageUndecodableError } from './errors.ts';

// The wire form of an envelope: one text header line, then the payload as the codec wrote it.
//
//   AF1 <codec> <id> <time> <tenant> <traceparent> <replyTo> <headers as JSON>\n<payload>
//
// Absent fields are empty; the topic is the transport's subject and is not repeated. A header
// line instead of a JSON envelope halves the bytes of a small message and its decode time
// (bench/bus.bench.ts over NATS measured the JSON envelope at 0.7× the raw client), and it
// stays readable in any NATS or MQTT tool.

const MAGIC = 'AF1 ';
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Looks up the codec a frame names. */
export type CodecLookup = (name: string) => Codec | undefined;

/** Builds the lookup for a bus: the built-in codecs plus its own. */
export function codecLookup(own: Codec): CodecLookup {
  return (name) =>
    name === own.name ? own : name === 'json' ? jsonCodec : name === 'msgpack' ? msgpackCodec : undefined;
}

/** Encodes an envelope whose id and tenant are tokens (`isToken`). Throws what the codec throws. */
export function encodeFrame(envelope: Envelope, codec: Codec): Uint8Array {
  const { headers } = envelope;
  let headerJson = '';
  for (const _ in headers) {
    headerJson = JSON.stringify(headers);
    break;
  }
  const head = `${MAGIC}${codec.name} ${envelope.id} ${envelope.time} ${envelope.tenant ?? ''} ${
    envelope.traceparent ?? ''
  } ${envelope.replyTo ?? ''} ${headerJson}\n`;
  if (codec === jsonCodec) return Buffer.from(head + (JSON.stringify(envelope.payload) ?? 'null'));
  const body = codec.encode(envelope.payload);
  const headLength = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headLength + body.byteLength);
  out.write(head, 0, 'utf8');
  out.set(body, headLength);
  return out;
}

/**
 * Decodes bytes from the wire into an envelope on `topic`. Frames name their codec, so nodes
 * using different codecs still understand each other. Bytes that are not a frame but are JSON
 * (a sensor publishing on MQTT, `nats pub`) are taken as a payload with a fresh id and the
 * time of arrival. Throws `MESSAGE_UNDECODABLE` with the reason.
 */
export function decodeFrame(data: Uint8Array, topic: string, codecs: CodecLookup): Envelope {
  if (!isFrame(data)) return foreign(data, topic);
  // JSON frames (the default) are decoded to text once; other codecs only decode their header line.
  const whole = isJsonFrame(data) ? utf8(data, 'the message is not UTF-8') : undefined;
  let line: string;
  let bodyStart: number;
  if (whole !== undefined) {
    const end = whole.indexOf('\n');
    if (end < 0) fail('the header line has no end');
    line = whole.slice(MAGIC.length, end);
    bodyStart = end + 1;
  } else {
    const end = data.indexOf(0x0a);
    if (end < 0) fail('the header line has no end');
    line = utf8(data.subarray(MAGIC.length, end), 'the header line is not UTF-8');
    bodyStart = end + 1;
  }
  const s1 = line.indexOf(' ');
  const s2 = line.indexOf(' ', s1 + 1);
  const s3 = line.indexOf(' ', s2 + 1);
  const s4 = line.indexOf(' ', s3 + 1);
  const s5 = line.indexOf(' ', s4 + 1);
  const s6 = line.indexOf(' ', s5 + 1);
  if (s1 < 0 || s2 < 0 || s3 < 0 || s4 < 0 || s5 < 0 || s6 < 0) fail('the header line has too few fields');
  const codecName = line.slice(0, s1);
  const codec = whole !== undefined ? jsonCodec : codecs(codecName);
  if (codec === undefined) fail(`unknown codec ${JSON.stringify(codecName.slice(0, 40))}`);
  const id = line.slice(s1 + 1, s2);
  if (!isToken(id)) fail('id must be 1–200 printable characters without spaces');
  const time = digits(line, s2 + 1, s3);
  if (time < 0) fail('time must be milliseconds since the epoch');
  const tenant = s4 - s3 > 1 ? line.slice(s3 + 1, s4) : undefined;
  if (tenant !== undefined && !isToken(tenant))
    fail('tenant must be 1–200 printable characters without spaces');
  const traceparent = s5 - s4 > 1 ? line.slice(s4 + 1, s5) : undefined;
  if (traceparent !== undefined && !isTraceparent(traceparent)) fail('traceparent is not W3C trace context');
  const replyTo = s6 - s5 > 1 ? line.slice(s5 + 1, s6) : undefined;
  if (replyTo !== undefined && !isToken(replyTo)) fail('replyTo must be a topic');
  const headers = s6 + 1 < line.length ? parseHeaders(line.slice(s6 + 1)) : {};
  let payload: unknown;
  try {
    payload =
      whole !== undefined ? JSON.parse(whole.slice(bodyStart)) : codec.decode(data.subarray(bodyStart));
  } catch (error) {
    throw new MessageUndecodableError(`malformed ${codec.name} payload (${(error as Error).message})`, {
      cause: error,
    });
  }
  return { id, topic, time, tenant, traceparent, headers, replyTo, payload };
}

/** True for a value that can be an id, tenant or reply topic on the wire: printable ASCII, no spaces. */
export function isToken(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > 200) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** The non-negative integer written in `text[from, to)` (1–15 digits), or -1. */
function digits(text: string, from: number, to: number): number {
  if (to - from < 1 || to - from > 15) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** True when `data` starts like an Agentfleet frame (`AF1 `); anything else is a plain message. */
export function isFrame(data: Uint8Array): boolean {
  return data[0] === 0x41 && data[1] === 0x46 && data[2] === 0x31 && data[3] === 0x20;
}

/** `AF1 json `: the codec every receiver knows, whose whole message is text. */
function isJsonFrame(data: Uint8Array): boolean {
  return data[4] === 0x6a && data[5] === 0x73 && data[6] === 0x6f && data[7] === 0x6e && data[8] === 0x20;
}

function utf8(data: Uint8Array, why: string): string {
  try {
    return textDecoder.decode(data);
  } catch {
    fail(why);
  }
}

function parseHeaders(text: string): Record<string, string> {
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail('headers are not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('headers must be an object');
  for (const h of Object.values(value)) if (typeof h !== 'string') fail('header values must be strings');
  return value as Record<string, string>;
}

function foreign(data: Uint8Array, topic: string): Envelope {
  let payload: unknown;
  try {
    payload = jsonCodec.decode(data);
  } catch (error) {
    throw new MessageUndecodableError(`neither an Agentfleet frame nor JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  return {
    id: nextMessageId(),
    topic,
    time: Date.now(),
    tenant: undefined,
    traceparent: undefined,
    headers: {},
    replyTo: undefined,
    payload,
  };
}

function fail(why: string): never {
  throw new MessageUndecodableError(why);
}

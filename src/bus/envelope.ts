import { randomBytes } from 'node:crypto';

/**
 * What travels on the bus: the payload plus the facts every hop needs. The envelope is the
 * same on every transport, so a message keeps its id, tenant and trace across NATS or MQTT.
 */
export interface Envelope<T = unknown> {
  /** Unique message id; JetStream deduplicates publishes by it. */
  id: string;
  /** The concrete topic it was published on. */
  topic: string;
  /** Publish time, ms since the Unix epoch. */
  time: number;
  /** The tenant it belongs to, if any. */
  tenant: string | undefined;
  /** W3C trace context (`00-<trace>-<span>-<flags>`), if the publisher was traced. */
  traceparent: string | undefined;
  /** Free-form string headers. */
  headers: Record<string, string>;
  /** Where a reply goes (set by `request`, or read from a plain client's protocol). */
  replyTo: string | undefined;
  payload: T;
  /**
   * Set when the message arrived as plain JSON, not as an Agentfleet frame (a NATS or MQTT
   * client without Agentfleet code): `Bus.reply` then answers in plain JSON too, with the
   * error code in a native header and, over MQTT 5, the request's correlation data echoed.
   */
  plain?: PlainOrigin | undefined;
  /** Bytes of the message as it arrived from the transport; undefined when it was never encoded. */
  bytes?: number | undefined;
}

/** What the bus keeps of a plain client's request to answer it in its own protocol. */
export interface PlainOrigin {
  /** MQTT 5 correlation data of the request, echoed on the reply. */
  readonly correlationData?: Uint8Array | undefined;
}

const NODE_PREFIX = randomBytes(6).toString('base64url');
let sequence = 0;

/** A process-unique, cluster-unique-in-practice id: 48 random bits of node prefix plus a counter. */
export function nextMessageId(): string {
  return NODE_PREFIX + ++sequence;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** True for a syntactically valid W3C `traceparent` header value. */
export function isTraceparent(value: string): boolean {
  return TRACEPARENT.test(value);
}

import { randomBytes } from 'node:crypto';
import { MessageUndecodableError } from './errors.ts';

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
  /** Where a reply goes (set by `request`). */
  replyTo: string | undefined;
  payload: T;
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

/**
 * Checks a decoded wire object and returns it as an envelope, or throws
 * `MESSAGE_UNDECODABLE` naming the first field that is wrong. Nothing from outside is trusted.
 */
export function toEnvelope(value: unknown): Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('it is not an object');
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || v.id.length === 0 || v.id.length > 200)
    fail('id must be a non-empty string');
  if (typeof v.topic !== 'string' || v.topic.length === 0) fail('topic must be a non-empty string');
  if (typeof v.time !== 'number' || !Number.isFinite(v.time)) fail('time must be a number');
  optionalString(v.tenant, 'tenant');
  optionalString(v.replyTo, 'replyTo');
  optionalString(v.traceparent, 'traceparent');
  if (typeof v.traceparent === 'string' && !isTraceparent(v.traceparent))
    fail('traceparent is not W3C trace context');
  const headers = v.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    fail('headers must be an object');
  for (const h of Object.values(headers)) if (typeof h !== 'string') fail('header values must be strings');
  if (!('payload' in v)) fail('payload is missing');
  return {
    id: v.id as string,
    topic: v.topic as string,
    time: v.time as number,
    tenant: (v.tenant ?? undefined) as string | undefined,
    traceparent: (v.traceparent ?? undefined) as string | undefined,
    headers: headers as Record<string, string>,
    replyTo: (v.replyTo ?? undefined) as string | undefined,
    payload: v.payload,
  };
}

function optionalString(value: unknown, name: string): void {
  if (value !== undefined && value !== null && typeof value !== 'string') fail(`${name} must be a string`);
}

function fail(why: string): never {
  throw new MessageUndecodableError(why);
}

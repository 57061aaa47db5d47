import { AgentfleetError, type AgentfleetErrorOptions } from '../errors/index.ts';

/** The bus (or its transport) was closed. */
export class BusClosedError extends AgentfleetError<BusErrorCode> {
  constructor() {
    super('BUS_CLOSED', 'The bus is closed; create a new one to publish or subscribe again.');
  }
}

/** A topic or subscription pattern that is not a valid dotted name. */
export class InvalidTopicError extends AgentfleetError<BusErrorCode> {
  constructor(topic: string, why: string) {
    super('INVALID_TOPIC', `Invalid topic ${JSON.stringify(topic)}: ${why}.`, { details: { topic } });
  }
}

/** An encoded message bigger than the bus's `maxMessageBytes`. */
export class MessageTooLargeError extends AgentfleetError<BusErrorCode> {
  constructor(size: number, limit: number, topic: string) {
    super(
      'MESSAGE_TOO_LARGE',
      `The message on ${topic} is ${size} bytes; the limit is ${limit}. Send less or raise maxMessageBytes.`,
      {
        details: { size, limit, topic },
      },
    );
  }
}

/** Bytes from a transport that are not a valid envelope in a known codec. */
export class MessageUndecodableError extends AgentfleetError<BusErrorCode> {
  constructor(why: string, options?: AgentfleetErrorOptions) {
    super('MESSAGE_UNDECODABLE', `The message could not be decoded: ${why}.`, options);
  }
}

/** No reply arrived within the request's timeout (`REPLY_TIMEOUT`, not HTTP's 408 `REQUEST_TIMEOUT`). */
export class ReplyTimeoutError extends AgentfleetError<BusErrorCode> {
  constructor(topic: string, timeoutMs: number) {
    super('REPLY_TIMEOUT', `No reply on ${topic} within ${timeoutMs} ms; is a responder subscribed?`, {
      details: { topic, timeoutMs },
    });
  }
}

/** The transport knows that nobody is subscribed to the request's topic. */
export class NoRespondersError extends AgentfleetError<BusErrorCode> {
  constructor(topic: string) {
    super('NO_RESPONDERS', `Nobody is subscribed to ${topic}; start a responder before sending requests.`, {
      details: { topic },
    });
  }
}

/** The responder's handler threw; `details.remote` is the error it reported. */
export class RequestFailedError extends AgentfleetError<BusErrorCode> {
  constructor(topic: string, remote: { code: string; message: string }) {
    super('REQUEST_FAILED', `The responder on ${topic} failed: ${remote.code}: ${remote.message}`, {
      details: { topic, remote },
    });
  }
}

/**
 * A subscription ended because its transport lost it for good (for a durable subscription:
 * the JetStream stream is gone, or the consumer could not be recreated).
 */
export class SubscriptionLostError extends AgentfleetError<BusErrorCode> {
  constructor(transport: string, pattern: string, why: string, cause?: unknown) {
    super('SUBSCRIPTION_LOST', `The ${transport} subscription to ${pattern} ended: ${why}`, {
      cause,
      details: { transport, pattern },
    });
  }
}

/** The transport failed to connect, publish or subscribe. */
export class TransportError extends AgentfleetError<BusErrorCode> {
  constructor(transport: string, what: string, cause?: unknown) {
    super(
      'TRANSPORT_FAILED',
      `The ${transport} transport failed to ${what}: ${String((cause as Error)?.message ?? cause)}`,
      {
        cause,
        details: { transport },
      },
    );
  }
}

/** Stable codes of the errors the bus throws (each has an HTTP status in the server's table). */
export type BusErrorCode =
  | 'BUS_CLOSED'
  | 'HANDLER_FAILED'
  | 'INVALID_TOPIC'
  | 'MESSAGE_TOO_LARGE'
  | 'MESSAGE_UNDECODABLE'
  | 'MESSAGE_UNENCODABLE'
  | 'NO_RESPONDERS'
  | 'REPLY_TIMEOUT'
  | 'REQUEST_FAILED'
  | 'SUBSCRIPTION_LOST'
  | 'TENANT_MISMATCH'
  | 'TRANSPORT_FAILED';

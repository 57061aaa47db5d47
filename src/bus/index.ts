export {
  Bus,
  type BusEvents,
  type BusStats,
  createBus,
  type PublishOptions,
  type RequestOptions,
} from './bus.ts';
export type { BusOptions, PublishContext } from './bus-options.ts';
export { type Codec, codecFor, jsonCodec, msgpackCodec } from './codec.ts';
export type { DeadLetter, DeadLetterReason } from './dead-letter.ts';
export { type Envelope, isTraceparent, nextMessageId } from './envelope.ts';
export type { BusErrorCode } from './errors.ts';
export {
  BusClosedError,
  InvalidTopicError,
  MessageTooLargeError,
  MessageUndecodableError,
  NoRespondersError,
  ReplyTimeoutError,
  RequestFailedError,
  SubscriptionLostError,
  TransportError,
} from './errors.ts';
export { type CodecLookup, codecLookup, decodeFrame, encodeFrame, isToken } from './frame.ts';
export { MemoryIdempotencyStore } from './idempotency.ts';
export { isLiveKvEntry, listKvKeys } from './kv-keys.ts';
export { checkKvStoreOptions, type KvStoreOptionsInput } from './kv-store-options.ts';
export { ERROR_HEADER } from './requests.ts';
export type { SubscribeOptions, WhenFull } from './subscribe-options.ts';
export {
  type CloseOptions,
  type HandlerContext,
  type MessageHandler,
  Subscription,
  type SubscriptionStats,
} from './subscription.ts';
export { assertPattern, assertTopic, isWildcard, MAX_TOPIC_LENGTH, topicMatches } from './topic.ts';
export type {
  Delivery,
  DurableOptions,
  IdempotencyStore,
  OutgoingMessage,
  Transport,
  TransportFeatures,
  TransportSink,
  TransportSubscribeOptions,
  TransportSubscription,
} from './transport.ts';
export { MemoryHub, MemoryTransport, memoryTransport } from './transports/memory.ts';

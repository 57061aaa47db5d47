import { z } from 'zod';
import { parseOptions } from '../errors/index.ts';
import type { Codec } from './codec.ts';
import type { Transport } from './transport.ts';

/** Tenant and trace of the caller, filled into envelopes a publish does not set them on. */
export interface PublishContext {
  tenant?: string;
  traceparent?: string;
}

/** Options of `createBus`. */
export interface BusOptions {
  /** Where messages go. Default: a new in-memory transport. */
  transport?: Transport;
  /** Wire codec for NATS / MQTT: `json` (default), `msgpack`, or your own. */
  codec?: 'json' | 'msgpack' | Codec;
  /** Largest encoded message, in bytes, sent or accepted. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Topic undecodable, oversized and given-up messages are published on. Default `_deadletter`. */
  deadLetterTopic?: string;
  /** Default timeout of `request`, in ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Supplies the ambient tenant / trace context (tenancy and tracing plug in here). */
  context?: () => PublishContext | undefined;
}

const schema = z.object({
  transport: z
    .custom<Transport>((v) => typeof v === 'object' && v !== null && 'publish' in v && 'subscribe' in v)
    .optional(),
  codec: z
    .union([
      z.enum(['json', 'msgpack']),
      z.custom<Codec>((v) => typeof v === 'object' && v !== null && 'encode' in v),
    ])
    .optional(),
  maxMessageBytes: z
    .number()
    .int()
    .min(64)
    .max(64 * 1024 * 1024)
    .optional(),
  deadLetterTopic: z.string().min(1).optional(),
  requestTimeoutMs: z.number().int().min(1).optional(),
  context: z.custom<() => PublishContext | undefined>((v) => typeof v === 'function').optional(),
});

export function parseBusOptions(options: BusOptions | undefined): BusOptions {
  return parseOptions('createBus options', schema, options ?? {}) as BusOptions;
}

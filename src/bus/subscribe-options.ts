import { z } from 'zod';
import { InvalidOptionsError, parseOptions } from '../errors/index.ts';
import type { DurableOptions, TransportFeatures } from './transport.ts';

/** What a subscription does when its buffer is full. */
export type WhenFull = 'block' | 'drop-oldest' | 'drop-newest';

/** Options of `bus.subscribe`. */
export interface SubscribeOptions {
  /**
   * Queue group: each message goes to one member of the group (load balancing). The group is
   * per tenant: members made in one tenant share that tenant's messages, members made with no
   * tenant (system scope) form a group of their own that gets every message.
   */
  queue?: string;
  /** Messages held for the handler before `whenFull` applies. Default 1024. */
  buffer?: number;
  /**
   * When the buffer is full: `block` holds the publisher back (in-memory transport, and
   * durable subscriptions, where fetching pauses); `drop-oldest` discards the oldest buffered
   * message; `drop-newest` discards the arriving one. Drops are counted. Default `block`
   * where the transport can block, else `drop-oldest`.
   */
  whenFull?: WhenFull;
  /** Messages handled at once by a handler subscription. Default 1 (in order). */
  concurrency?: number;
  /**
   * Durable subscription (JetStream): a consumer name, or its options. Messages are stored,
   * acknowledged after the handler resolves, and redelivered if it throws or the process dies.
   */
  durable?: string | { name: string; ackWaitMs?: number; maxDeliver?: number; maxInFlight?: number };
  /**
   * Skip messages whose id was already handled by this durable consumer (a redelivery after a
   * crash, or a publisher's retry), remembering ids for `windowMs` (default 2 minutes).
   */
  dedupe?: boolean | { windowMs?: number };
  /** Closes the subscription when aborted. */
  signal?: AbortSignal;
}

/** Subscribe options with every default filled in. */
export interface ResolvedSubscribeOptions {
  queue: string | undefined;
  buffer: number;
  whenFull: WhenFull;
  concurrency: number;
  durable: DurableOptions | undefined;
  dedupeWindowMs: number | undefined;
  signal: AbortSignal | undefined;
}

const name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64');
const schema = z.object({
  queue: name.optional(),
  buffer: z.number().int().min(1).max(10_000_000).optional(),
  whenFull: z.enum(['block', 'drop-oldest', 'drop-newest']).optional(),
  concurrency: z.number().int().min(1).max(100_000).optional(),
  durable: z
    .union([
      name,
      z.object({
        name,
        ackWaitMs: z.number().int().min(100).optional(),
        maxDeliver: z.number().int().min(1).optional(),
        maxInFlight: z.number().int().min(1).optional(),
      }),
    ])
    .optional(),
  dedupe: z.union([z.boolean(), z.object({ windowMs: z.number().int().min(1).optional() })]).optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

/** Validates subscribe options against what the transport can do, and fills in defaults. */
export function resolveSubscribeOptions(
  value: SubscribeOptions | undefined,
  features: TransportFeatures,
  transport: string,
  target: 'handler' | 'channel' | 'iterator',
): ResolvedSubscribeOptions {
  const o = parseOptions('bus.subscribe options', schema, value ?? {});
  const buffer = o.buffer ?? 1024;
  let durable: DurableOptions | undefined;
  if (o.durable !== undefined) {
    if (!features.durable)
      throw new InvalidOptionsError(`The ${transport} transport has no durable subscriptions.`);
    if (target !== 'handler')
      throw new InvalidOptionsError(
        'A durable subscription needs a handler (it acks after the handler resolves).',
      );
    const d = typeof o.durable === 'string' ? { name: o.durable } : o.durable;
    durable = {
      name: d.name,
      ackWaitMs: d.ackWaitMs ?? 30_000,
      maxDeliver: d.maxDeliver ?? 5,
      maxInFlight: d.maxInFlight ?? buffer,
    };
  }
  const canBlock = features.blockPublisher || durable !== undefined;
  const whenFull = o.whenFull ?? (canBlock ? 'block' : 'drop-oldest');
  if (whenFull === 'block' && !canBlock) {
    throw new InvalidOptionsError(
      `The ${transport} transport cannot hold publishers back; use whenFull 'drop-oldest' or 'drop-newest', or a durable subscription.`,
    );
  }
  if (durable !== undefined && whenFull !== 'block') {
    throw new InvalidOptionsError(
      'A durable subscription never drops: it pauses fetching instead (whenFull must be block).',
    );
  }
  if (o.dedupe && durable === undefined)
    throw new InvalidOptionsError('dedupe needs a durable subscription.');
  const dedupeWindowMs = o.dedupe
    ? ((o.dedupe === true ? undefined : o.dedupe.windowMs) ?? 120_000)
    : undefined;
  return {
    queue: o.queue,
    buffer,
    whenFull,
    concurrency: o.concurrency ?? 1,
    durable,
    dedupeWindowMs,
    signal: o.signal,
  };
}

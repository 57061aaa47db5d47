// The replicator's options (the zod schema is their source), its counters, and the schemas of
// its two wire messages: a delta `{ from, name, delta }` and a digest `{ from, digests }`.
import { z } from 'zod';
import { Bus, type Envelope } from '../bus/index.ts';
import { nameSchema } from './crdt-map.ts';
import { digestSchema } from './digest.ts';
import type { CrdtError } from './errors.ts';
import { nodeIdSchema } from './node-id.ts';
import type { SharedKind } from './shared-crdt.ts';

export const KINDS: ReadonlySet<string> = new Set([
  'g-counter',
  'pn-counter',
  'lww-register',
  'or-set',
  'crdt-map',
]);

/** Names per digest message: a large replicator sends several. */
export const DIGEST_CHUNK = 256;

export const optionsSchema = z.strictObject({
  /** The bus the replicas meet on. */
  bus: z.custom<Bus>((v) => v instanceof Bus, 'a Bus'),
  /** This replica's node id (1–64 of A-Z a-z 0-9 _ - : @), unique among the replicas. */
  node: z.string(),
  /** The replicator's name: its topics are `crdt.<name>.delta` and `crdt.<name>.digest`. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64'),
  /** Milliseconds between anti-entropy digests. Default 2,000. */
  antiEntropyMs: z.number().int().min(10).max(3_600_000).default(2_000),
  /** Largest delta or digest message accepted, in bytes of JSON. Default 256 KiB. */
  maxMessageBytes: z
    .number()
    .int()
    .min(1_024)
    .max(64 * 1024 * 1024)
    .default(256 * 1024),
  /** Most named CRDTs this replica shares. Default 10,000. */
  maxObjects: z.number().int().min(1).max(1_000_000).default(10_000),
  /** How far ahead of local time a remote LWW write may be, in ms (`CRDT_CLOCK_SKEW` beyond). Default 60,000. */
  maxDriftMs: z.number().int().positive().default(60_000),
  /** The wall clock for LWW timestamps, ms since the epoch; tests inject one. Default `Date.now`. */
  wallClock: z.custom<() => number>((v) => typeof v === 'function').optional(),
  /**
   * Declares, on first sight in a peer's delta or digest, a CRDT this replica has not declared:
   * return its kind to share it from then on (within `maxObjects`), or undefined to refuse the
   * delta (`CRDT_FOREIGN`) and skip the digest entry, as without this option. Lets every replica
   * hold names it never uses itself (e.g. per-tenant counters read anywhere). Runs in the
   * replicator's tenant; a throw counts as undefined.
   */
  adopt: z.custom<(name: string) => SharedKind | undefined>((v) => typeof v === 'function').optional(),
  /**
   * Called with the typed error of every message refused (`CRDT_INVALID`, `CRDT_FOREIGN`,
   * `CRDT_TOO_LARGE`, `CRDT_CLOCK_SKEW`); the message is dropped, nothing merged. Never
   * called for this replica's own messages. Errors it throws are ignored.
   */
  onInvalid: z
    .custom<(error: CrdtError, message: Envelope) => void>((v) => typeof v === 'function')
    .optional(),
});

/** Options of `CrdtReplicator.open`. */
export type CrdtReplicatorOptions = z.input<typeof optionsSchema>;

/** Counters of a replicator. */
export interface CrdtReplicatorStats {
  /** Deltas of local changes published. */
  deltasSent: number;
  /** Peers' deltas merged (their local changes and anti-entropy repairs). */
  deltasMerged: number;
  /** Digest messages published. */
  digestsSent: number;
  /** Peers' digest messages read. */
  digestsReceived: number;
  /** Repair deltas published in answer to a peer's digest. */
  repairsSent: number;
  /** Messages refused (each reported to `onInvalid`). */
  invalid: number;
  /** Publishes that failed (the change is kept here; anti-entropy carries it later). */
  publishFailed: number;
}

export const deltaMessage = z.strictObject({
  from: nodeIdSchema,
  name: nameSchema,
  delta: z.looseObject({ type: z.string() }),
});

export const digestMessage = z.strictObject({
  from: nodeIdSchema,
  digests: z
    .record(nameSchema, digestSchema)
    .refine((d) => Object.keys(d).length <= DIGEST_CHUNK, `more than ${DIGEST_CHUNK} names`),
});

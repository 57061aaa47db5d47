import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { countsSchema } from './counts.ts';
import { type Crdt, CrdtMap, nameSchema } from './crdt-map.ts';
import { GCounter } from './g-counter.ts';
import { compareHlc, type HlcTimestamp, hlcTimestampSchema } from './hybrid-clock.ts';
import { LWWRegister } from './lww-register.ts';
import type { ORSet } from './or-set.ts';
import { PNCounter } from './pn-counter.ts';

/** Any CRDT a replicator shares by name: the four types, or a map of them. */
export type SharedCrdtValue = Crdt | CrdtMap;

/** The digest of one field (a CRDT that is not a map). */
export type FieldDigest =
  | { type: 'g-counter'; counts: Record<string, number> }
  | { type: 'pn-counter'; p?: Record<string, number>; n?: Record<string, number> }
  | { type: 'lww-register'; ts?: HlcTimestamp }
  | { type: 'or-set'; hash: string };

/**
 * A compact summary of a replica's state, enough for a peer to tell what it holds that this
 * replica lacks. Counters: the per-node totals (they are the version vector). A register: the
 * timestamp of its write. An OR-Set: a hash of its live dots and causal context. A map: one
 * digest per field.
 */
export type CrdtDigest = FieldDigest | { type: 'crdt-map'; fields: Record<string, FieldDigest> };

/** Most fields a map digest may name: a bound on what a peer can make us hold. */
export const MAX_DIGEST_FIELDS = 10_000;

const fieldDigestSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('g-counter'), counts: countsSchema }),
  z.strictObject({
    type: z.literal('pn-counter'),
    p: countsSchema.optional(),
    n: countsSchema.optional(),
  }),
  z.strictObject({ type: z.literal('lww-register'), ts: hlcTimestampSchema.optional() }),
  z.strictObject({ type: z.literal('or-set'), hash: z.string().min(1).max(64) }),
]);

/** The zod schema of a digest from a peer (untrusted). */
export const digestSchema: z.ZodType<CrdtDigest> = z.union([
  fieldDigestSchema,
  z.strictObject({
    type: z.literal('crdt-map'),
    fields: z
      .record(nameSchema, fieldDigestSchema)
      .refine((f) => Object.keys(f).length <= MAX_DIGEST_FIELDS, `more than ${MAX_DIGEST_FIELDS} fields`),
  }),
]) as z.ZodType<CrdtDigest>;

/** The digest of `crdt`. */
export function digestOf(crdt: SharedCrdtValue): CrdtDigest {
  if (crdt instanceof CrdtMap) {
    const fields: Record<string, FieldDigest> = {};
    for (const name of crdt.keys()) fields[name] = fieldDigestOf(crdt.get(name) as Crdt);
    return { type: 'crdt-map', fields };
  }
  return fieldDigestOf(crdt);
}

function fieldDigestOf(crdt: Crdt): FieldDigest {
  if (crdt instanceof GCounter) return crdt.state();
  if (crdt instanceof PNCounter) return crdt.state();
  if (crdt instanceof LWWRegister) {
    const ts = crdt.timestamp();
    return ts === undefined ? { type: 'lww-register' } : { type: 'lww-register', ts };
  }
  return { type: 'or-set', hash: orSetHash(crdt) };
}

/**
 * The delta (JSON) of what `mine` holds that a replica with digest `theirs` lacks, or
 * undefined when it lacks nothing this side can tell. Counters get a fine-grained delta (only
 * the node entries ahead of theirs) and a register its one write; an OR-Set whose hash differs
 * gets its full state, as a fine-grained delta would need the peer's dots, not a hash. A map
 * gets the fields it lacks in full and the others field by field. A digest of another kind
 * gives undefined (the peer's deltas will be refused as it sends them).
 */
export function missingFrom(mine: SharedCrdtValue, theirs: CrdtDigest): unknown {
  if (mine instanceof CrdtMap) {
    if (theirs.type !== 'crdt-map') return undefined;
    const entries: Record<string, unknown> = {};
    let any = false;
    for (const name of mine.keys()) {
      const field = mine.get(name) as Crdt;
      const their = theirs.fields[name];
      const missing = their === undefined ? field.state() : missingField(field, their);
      if (missing !== undefined) {
        entries[name] = missing;
        any = true;
      }
    }
    return any ? { type: CrdtMap.type, entries } : undefined;
  }
  return missingField(mine, theirs as FieldDigest);
}

function missingField(mine: Crdt, theirs: FieldDigest): unknown {
  if (mine instanceof GCounter) {
    if (theirs.type !== 'g-counter') return undefined;
    const counts = ahead(mine.state().counts, theirs.counts);
    return counts === undefined ? undefined : { type: GCounter.type, counts };
  }
  if (mine instanceof PNCounter) {
    if (theirs.type !== 'pn-counter') return undefined;
    const state = mine.state();
    const p = ahead(state.p, theirs.p);
    const n = ahead(state.n, theirs.n);
    if (p === undefined && n === undefined) return undefined;
    return { type: PNCounter.type, ...(p && { p }), ...(n && { n }) };
  }
  if (mine instanceof LWWRegister) {
    if (theirs.type !== 'lww-register') return undefined;
    const ts = mine.timestamp();
    if (ts === undefined || (theirs.ts !== undefined && compareHlc(ts, theirs.ts) <= 0)) return undefined;
    return mine.state();
  }
  if (theirs.type !== 'or-set' || theirs.hash === orSetHash(mine)) return undefined;
  return mine.state();
}

/** The entries of `mine` greater than the same node's entry in `theirs` (absent: 0), or undefined. */
function ahead(
  mine: Record<string, number> | undefined,
  theirs: Record<string, number> | undefined,
): Record<string, number> | undefined {
  let out: Record<string, number> | undefined;
  if (mine === undefined) return undefined;
  for (const node of Object.keys(mine)) {
    const value = mine[node] as number;
    if (value <= (theirs?.[node] ?? 0)) continue;
    out ??= {};
    out[node] = value;
  }
  return out;
}

/** True when two digests describe the same state. */
export function sameDigest(a: CrdtDigest, b: CrdtDigest): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * A hash of an OR-Set's live dots and causal context: equal sets give equal hashes whatever
 * the order their entries were made in (a dot names one element, so the dots fix the values).
 */
function orSetHash(set: ORSet<unknown>): string {
  const state = set.state();
  const live: string[] = [];
  for (const entry of state.entries) for (const [n, c] of entry.dots) live.push(`${n}:${c}`);
  live.sort();
  const vv = Object.entries(state.context.vv ?? {})
    .map(([n, c]) => `${n}:${c}`)
    .sort();
  const cloud = (state.context.dots ?? []).map(([n, c]) => `${n}:${c}`).sort();
  return createHash('sha256')
    .update(`${live.join(',')}|${vv.join(',')}|${cloud.join(',')}`)
    .digest('base64url')
    .slice(0, 22);
}

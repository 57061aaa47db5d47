import { type CrdtReplica, mergeCrdtField, type StateCrdtKind } from './crdt-fields.ts';
import { StateInvalidError } from './errors.ts';
import { entryBytes, entryBytesBound, jsonBytesBound, jsonEqual, toFrozenJson } from './json-value.ts';
import { MAX_FIELD_NAME_LENGTH } from './state-schema.ts';

const NO_VALUES: Readonly<Record<string, unknown>> = Object.freeze({});

/** What a patch would do to a state, worked out before anything is applied. */
export interface PatchPlan {
  /** Fields getting a new value, and those values (frozen copies), index for index. */
  changed: string[];
  values: unknown[];
  /** Fields present now and deleted by the patch. */
  removed: string[];
  /** Fields after the patch. */
  keys: number;
  /** Sum of `entryBytesBound` after the patch (an upper bound; see `exactEntryBytes`). */
  entries: number;
}

/** The fields of a state declared as CRDTs, and the replica that merges into them. */
export interface CrdtFields {
  kinds: Readonly<Record<string, StateCrdtKind>>;
  replica: CrdtReplica;
}

/**
 * Validates `patch` against the current `values` and plans it: `null` deletes a field,
 * `undefined` is skipped, any other value must be plain JSON and counts as a change unless
 * deep-equal to the current one. A field `crdt` declares is merged instead: its new value is
 * the current CRDT state joined with the patch's state or delta (no change when that adds
 * nothing). Pure: the state is not touched.
 * @throws StateInvalidError for a non-object patch, a long field name, a non-JSON value, or a
 * CRDT field's value that is not a state or delta of its kind.
 */
export function planPatch(
  agentId: string,
  values: Readonly<Record<string, unknown>> | undefined,
  keys: number,
  entries: number,
  patch: unknown,
  crdt?: CrdtFields,
): PatchPlan {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    throw new StateInvalidError(agentId, 'patch', 'the patch must be an object of field → value');
  const current = values ?? NO_VALUES;
  const plan: PatchPlan = { changed: [], values: [], removed: [], keys, entries };
  for (const key of Object.keys(patch)) {
    const raw = (patch as Record<string, unknown>)[key];
    if (raw === undefined) continue;
    if (key.length > MAX_FIELD_NAME_LENGTH)
      throw new StateInvalidError(
        agentId,
        key,
        `field names are at most ${MAX_FIELD_NAME_LENGTH} characters`,
      );
    const had = Object.hasOwn(current, key);
    if (raw === null) {
      if (!had) continue;
      plan.removed.push(key);
      plan.keys--;
      plan.entries -= entryBytesBound(key, current[key]);
      continue;
    }
    const kind =
      crdt === undefined ? undefined : Object.hasOwn(crdt.kinds, key) ? crdt.kinds[key] : undefined;
    const value = toFrozenJson(
      kind === undefined ? raw : mergeCrdtField(agentId, key, kind, current[key], raw, crdt!.replica),
      agentId,
      key,
    );
    if (had) {
      const old = current[key];
      if (jsonEqual(old, value)) continue;
      plan.entries += jsonBytesBound(value) - jsonBytesBound(old);
    } else {
      plan.keys++;
      plan.entries += entryBytesBound(key, value);
    }
    plan.changed.push(key);
    plan.values.push(value);
  }
  return plan;
}

/**
 * The exact sum of `entryBytes` over the state the plan would leave — for when the cheap bound
 * is over the limit. O(fields), formatting every number.
 */
export function exactEntryBytes(
  values: Readonly<Record<string, unknown>> | undefined,
  plan: PatchPlan,
): number {
  let entries = 0;
  const replaced = new Set<string>(plan.removed);
  for (let i = 0; i < plan.changed.length; i++) {
    const key = plan.changed[i] as string;
    replaced.add(key);
    entries += entryBytes(key, plan.values[i]);
  }
  for (const key of Object.keys(values ?? {})) {
    if (!replaced.has(key)) entries += entryBytes(key, (values as Record<string, unknown>)[key]);
  }
  return entries;
}

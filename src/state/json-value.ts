import { StateInvalidError } from './errors.ts';

/** Deepest nesting accepted in a state value. */
export const MAX_VALUE_DEPTH = 64;

/**
 * Checks that `value` is plain JSON and returns a deep copy of it with every object and array
 * frozen, so the store, its deltas and its snapshots can share it safely. Accepted: null,
 * booleans, finite numbers (-0 becomes 0), strings, arrays, and objects whose prototype is
 * `Object.prototype` or null. Rejected: undefined, functions, symbols, bigints, NaN and
 * infinities, class instances (Date, Map, ...), sparse arrays, symbol keys, cycles, and
 * nesting deeper than 64.
 * @throws StateInvalidError naming the path of the first bad value.
 */
export function toFrozenJson(value: unknown, agentId: string, path: string): unknown {
  return copy(value, agentId, path, []);
}

function copy(value: unknown, agentId: string, path: string, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value))
        throw new StateInvalidError(agentId, path, `${value} is not a JSON number`);
      return value === 0 ? 0 : value;
    case 'object':
      if (value === null) return null;
      break;
    default:
      throw new StateInvalidError(agentId, path, `a ${typeof value} is not a JSON value`);
  }
  const object = value as object;
  if (ancestors.includes(object)) throw new StateInvalidError(agentId, path, 'the value contains itself');
  if (ancestors.length >= MAX_VALUE_DEPTH)
    throw new StateInvalidError(agentId, path, `nested deeper than ${MAX_VALUE_DEPTH}`);
  if (Object.getOwnPropertySymbols(object).length > 0)
    throw new StateInvalidError(agentId, path, 'symbol keys are not JSON');
  ancestors.push(object);
  let result: unknown[] | Record<string, unknown>;
  if (Array.isArray(object)) {
    if (Object.getPrototypeOf(object) !== Array.prototype)
      throw new StateInvalidError(agentId, path, 'an Array subclass is not a JSON value');
    const out = new Array<unknown>(object.length);
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) throw new StateInvalidError(agentId, `${path}.${i}`, 'sparse arrays are not JSON');
      out[i] = copy(object[i], agentId, `${path}.${i}`, ancestors);
    }
    result = out;
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new StateInvalidError(agentId, path, `a ${name} is not a plain JSON object`);
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(object)) {
      setOwn(out, key, copy((object as Record<string, unknown>)[key], agentId, `${path}.${key}`, ancestors));
    }
    result = out;
  }
  ancestors.pop();
  return Object.freeze(result);
}

/** Sets an own data property, even `__proto__` (which plain assignment would treat as the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Longest JSON text of a JS number (`-0.0000012345678901234567`). */
const MAX_NUMBER_BYTES = 25;
/** Strings whose JSON is the string in quotes: printable ASCII without `"` or `\\`. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * An upper bound of the UTF-8 bytes of `JSON.stringify(value)`, for a value from
 * `toFrozenJson`, without the cost of formatting numbers: exact for strings, booleans, null
 * and safe integers; other numbers count 25 bytes (the longest a number can be). Use
 * `jsonBytes` where the exact figure matters.
 */
export function jsonBytesBound(value: unknown): number {
  switch (typeof value) {
    case 'number':
      return Number.isSafeInteger(value) ? integerBytes(value) : MAX_NUMBER_BYTES;
    case 'string':
      return stringBytes(value);
    case 'boolean':
      return value ? 4 : 5;
  }
  if (value === null) return 4;
  if (Array.isArray(value)) {
    let bytes = value.length > 1 ? value.length + 1 : 2;
    for (let i = 0; i < value.length; i++) bytes += jsonBytesBound(value[i]);
    return bytes;
  }
  const keys = Object.keys(value as object);
  let bytes = keys.length > 1 ? keys.length + 1 : 2;
  for (const key of keys)
    bytes += stringBytes(key) + 1 + jsonBytesBound((value as Record<string, unknown>)[key]);
  return bytes;
}

/** UTF-8 bytes of `JSON.stringify(value)`, exactly. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** UTF-8 bytes `"key":value` adds to an object's JSON, without the separating comma, exactly. */
export function entryBytes(key: string, value: unknown): number {
  return Buffer.byteLength(JSON.stringify(key)) + 1 + jsonBytes(value);
}

/** Upper bound (see `jsonBytesBound`) of the bytes `"key":value` adds to an object's JSON, without the comma. */
export function entryBytesBound(key: string, value: unknown): number {
  return stringBytes(key) + 1 + jsonBytesBound(value);
}

function stringBytes(value: string): number {
  return value.length < 256 && PLAIN_ASCII.test(value)
    ? value.length + 2
    : Buffer.byteLength(JSON.stringify(value));
}

function integerBytes(value: number): number {
  let digits = value < 0 ? 2 : 1;
  for (let rest = Math.abs(value); rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** Deep equality of two values from `toFrozenJson` (plain JSON: no NaN, no prototypes to compare). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/** UTF-8 bytes of the JSON of an object with `keys` entries whose `entryBytes` sum to `entries`. */
export function objectBytes(keys: number, entries: number): number {
  return 2 + entries + (keys > 1 ? keys - 1 : 0);
}

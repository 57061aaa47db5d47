import { malformed } from '../errors.ts';

// Narrow readers for vendor JSON: each throws LLM_MALFORMED_RESPONSE naming the field.

export function asObject(provider: string, value: unknown, what: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  throw malformed(provider, `${what} is not an object`);
}

export function asArray(provider: string, value: unknown, what: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw malformed(provider, `${what} is not an array`);
}

export function asString(provider: string, value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  throw malformed(provider, `${what} is not a string`);
}

export function optionalNumber(provider: string, value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw malformed(provider, `${what} is not a number`);
}

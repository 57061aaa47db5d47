import { z } from 'zod';
import { formatIssues } from '../errors/index.ts';

/** One version of a tenant's definition as the cluster's store keeps it. */
export interface StoredVersion {
  id: string;
  label: string;
  format: 'json' | 'yaml';
  text: string;
}

/** What the store holds for a tenant's definition: its versions (oldest first) and which is current. */
export interface StoredVersions {
  current: string;
  versions: StoredVersion[];
}

const MARK = 'agentfleetVersions';

const envelopeSchema = z
  .strictObject({
    [MARK]: z.literal(1),
    current: z.string().regex(/^[0-9a-f]{12}$/),
    versions: z
      .array(
        z.strictObject({
          id: z.string().regex(/^[0-9a-f]{12}$/),
          label: z.string().min(1).max(64),
          format: z.enum(['json', 'yaml']),
          text: z.string(),
        }),
      )
      .min(1)
      .max(16),
  })
  .refine((e) => e.versions.some((v) => v.id === e.current), 'current must be one of versions');

/** The stored text of a definition's versions (JSON, format `json`). */
export function encodeVersions(stored: StoredVersions): string {
  return JSON.stringify({ [MARK]: 1, current: stored.current, versions: stored.versions });
}

/**
 * A stored text as versions: an envelope written by `encodeVersions`, or undefined for a plain
 * spec text (written before versions, or by hand), which is one version of its own.
 * @throws Error naming what is wrong with a damaged envelope
 */
export function decodeVersions(text: string, format: 'json' | 'yaml'): StoredVersions | undefined {
  if (format !== 'json' || !text.includes(`"${MARK}"`)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined; // not JSON: let the spec parser say why
  }
  if (typeof json !== 'object' || json === null || !(MARK in json)) return undefined;
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) throw new Error(`a damaged versions record: ${formatIssues(parsed.error).join('; ')}`);
  return { current: parsed.data.current, versions: parsed.data.versions };
}

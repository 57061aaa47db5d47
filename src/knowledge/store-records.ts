import { endianness } from 'node:os';
import { KnowledgeStoreCorruptError } from './store-errors.ts';
import type { StoreLine } from './store-lines.ts';

/** A document as the knowledge base keeps it. */
export interface StoredDocument {
  id: string;
  tenant: string;
  text: string;
  metadata: Record<string, string | number | boolean>;
}

/** The chunk vectors of a document, as stored beside it. */
export interface StoredVectors {
  /** `Embedder.id` of the embedder that made them. */
  embedder: string;
  /** Fingerprint of the chunk texts they are the vectors of. */
  chunking: string;
  dimensions: number;
  chunks: number;
  /** `chunks × dimensions` values, chunk after chunk. */
  data: Float32Array;
}

/** A document with, when the embedder has an id, its vectors. */
export interface StoredRecord {
  doc: StoredDocument;
  vectors?: StoredVectors | undefined;
}

/** One change, as `DocumentLog.open` replays it. */
export type LogEntry =
  | { op: 'upsert'; doc: StoredDocument; vectors?: StoredVectors | undefined }
  | { op: 'delete'; tenant: string; id: string }
  | { op: 'deleteTenant'; tenant: string };

/** On disk the vectors are base64 of their little-endian float32 bytes. */
type EncodedVectors = Omit<StoredVectors, 'data'> & { data: string };
/** A record as stored: a change, or the snapshot's closing line (its document count). */
export type Line =
  | { op: 'upsert'; doc: StoredDocument; vectors?: EncodedVectors }
  | { op: 'delete'; tenant: string; id: string }
  | { op: 'deleteTenant'; tenant: string }
  | { op: 'end'; documents: number };

export function keyOf(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}

/** The tenant of a `keyOf` key. */
export function tenantOfKey(key: string): string {
  return key.slice(0, key.indexOf('\u0000'));
}

const LITTLE_ENDIAN = endianness() === 'LE';

export function encodeUpsert({ doc, vectors }: StoredRecord): string {
  if (vectors === undefined) return JSON.stringify({ op: 'upsert', doc } satisfies Line);
  const { data, ...rest } = vectors;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const le = LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap32();
  return JSON.stringify({
    op: 'upsert',
    doc,
    vectors: { ...rest, data: le.toString('base64') },
  } satisfies Line);
}

/** The record of a verified line. @throws KnowledgeStoreCorruptError when it is not one. */
export function toRecord(line: Pick<StoreLine, 'value' | 'number' | 'offset'>, file: string): Line {
  if (!isLine(line.value)) {
    throw new KnowledgeStoreCorruptError('not a record', { file, line: line.number, offset: line.offset });
  }
  return line.value;
}

export function isLine(value: unknown): value is Line {
  const v = value as Partial<Record<string, unknown>> | null;
  if (typeof v !== 'object' || v === null) return false;
  if (v.op === 'delete') return typeof v.tenant === 'string' && typeof v.id === 'string';
  if (v.op === 'deleteTenant') return typeof v.tenant === 'string';
  if (v.op === 'end') return Number.isSafeInteger(v.documents);
  const doc = v.doc as Partial<Record<string, unknown>> | null | undefined;
  return (
    v.op === 'upsert' &&
    typeof doc === 'object' &&
    doc !== null &&
    typeof doc.tenant === 'string' &&
    typeof doc.id === 'string' &&
    typeof doc.text === 'string' &&
    typeof doc.metadata === 'object' &&
    doc.metadata !== null
  );
}

/** Decodes and checks a change's vectors. @throws KnowledgeStoreCorruptError */
export function decode(
  line: Exclude<Line, { op: 'end' }>,
  where: { file: string; line?: number; offset?: number },
): LogEntry {
  if (line.op !== 'upsert' || line.vectors === undefined) return line as LogEntry;
  const v = line.vectors as Partial<Record<keyof EncodedVectors, unknown>>;
  const corrupt = (why: string) =>
    new KnowledgeStoreCorruptError(`the vectors of "${line.doc.id}" ${why}`, where);
  if (
    typeof v.embedder !== 'string' ||
    typeof v.chunking !== 'string' ||
    !Number.isSafeInteger(v.dimensions) ||
    (v.dimensions as number) < 1 ||
    !Number.isSafeInteger(v.chunks) ||
    (v.chunks as number) < 0 ||
    typeof v.data !== 'string'
  ) {
    throw corrupt('are malformed');
  }
  const byteLength = (v.dimensions as number) * (v.chunks as number) * 4;
  // Buffer skips characters that are not base64, so a damaged string decodes short.
  const bytes = Buffer.from(v.data, 'base64');
  if (bytes.length !== byteLength || v.data.length !== Math.ceil(byteLength / 3) * 4) {
    throw corrupt(`hold ${bytes.length} bytes, not ${v.dimensions} dimensions × ${v.chunks} chunks × 4`);
  }
  if (!LITTLE_ENDIAN) bytes.swap32();
  const data = new Float32Array(byteLength / 4);
  new Uint8Array(data.buffer).set(bytes); // copied: the decoded bytes need not be 4-byte aligned
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw corrupt(`hold a value that is not finite (at ${i})`);
  }
  return { op: 'upsert', doc: line.doc, vectors: { ...(v as EncodedVectors), data } };
}

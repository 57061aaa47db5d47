import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { KnowledgeStoreCorruptError } from './store-errors.ts';

/**
 * The line format of the store's files: `<crc> <json>\n`, where `<crc>` is 8 hex digits of the
 * CRC-32 of every JSON payload of the file so far, this one included (a chain). A damaged
 * byte fails its own line; a line removed, repeated or moved fails the next one. Files of
 * earlier versions hold bare JSON lines (`{…}`) and are read as such, once, to be rewritten.
 */
const CRC_DIGITS = 8;
const OPEN_BRACE = 0x7b;
const SPACE = 0x20;
const NEWLINE = 0x0a;

/** A verified line: its JSON, where it is, and whether it came from an unchecksummed file. */
export interface StoreLine {
  value: unknown;
  /** The JSON text, as written. */
  json: string;
  /** 1-based. */
  number: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Byte offset just past its newline. */
  end: number;
  legacy: boolean;
}

/** Continues a file's checksum chain over one payload. */
export function chain(crc: number, json: string): number {
  return crc32(json, crc);
}

/** One line of the format, with its newline, after `crc` (the chain so far; 0 for a file's first line). */
export function formatLine(crc: number, json: string): { text: string; crc: number } {
  const next = chain(crc, json);
  return { text: `${next.toString(16).padStart(CRC_DIGITS, '0')} ${json}\n`, crc: next };
}

/** `formatLine` as bytes, converting the JSON to UTF-8 once (for a large record, the costly part). */
export function formatLineBytes(crc: number, json: string): { bytes: Buffer; crc: number } {
  const payload = Buffer.from(json);
  const next = crc32(payload, crc);
  const bytes = Buffer.allocUnsafe(CRC_DIGITS + 2 + payload.length);
  bytes.write(next.toString(16).padStart(CRC_DIGITS, '0'), 0, 'latin1');
  bytes[CRC_DIGITS] = SPACE;
  payload.copy(bytes, CRC_DIGITS + 1);
  bytes[bytes.length - 1] = NEWLINE;
  return { bytes, crc: next };
}

/**
 * The verified lines of a file (none when it does not exist). Text after the last newline is
 * a torn write: left out, or with `strict` (a snapshot, written whole before its rename) an
 * error. @throws KnowledgeStoreCorruptError for a bad checksum, bad JSON or mixed formats.
 */
export async function* readStoreLines(path: string, strict = false): AsyncGenerator<StoreLine> {
  let crc = 0;
  let legacy: boolean | undefined;
  for await (const { bytes, number, offset, end } of readLines(path, strict)) {
    const where = { file: path, line: number, offset };
    const isLegacy = bytes[0] === OPEN_BRACE;
    if (legacy !== undefined && isLegacy !== legacy) {
      throw new KnowledgeStoreCorruptError(
        isLegacy
          ? 'a line without a checksum among checksummed ones'
          : 'a checksummed line in an old-format file',
        where,
      );
    }
    legacy = isLegacy;
    let payload = bytes;
    if (!isLegacy) {
      const stored = bytes.subarray(0, CRC_DIGITS).toString('latin1');
      payload = bytes.subarray(CRC_DIGITS + 1);
      crc = crc32(payload, crc);
      if (
        bytes[CRC_DIGITS] !== SPACE ||
        !/^[0-9a-f]{8}$/.test(stored) ||
        Number.parseInt(stored, 16) !== crc
      ) {
        throw new KnowledgeStoreCorruptError(
          'checksum mismatch (the record or one before it was changed, cut or removed)',
          where,
        );
      }
    }
    const json = payload.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new KnowledgeStoreCorruptError('not valid JSON', where, error);
    }
    yield { value, json, number, offset, end, legacy: isLegacy };
  }
}

/** The complete lines of a file as bytes, with their 1-based number and byte range. */
async function* readLines(
  path: string,
  strict: boolean,
): AsyncGenerator<{ bytes: Buffer; number: number; offset: number; end: number }> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    let partial: Buffer[] = [];
    let offset = 0;
    let number = 0;
    for await (const chunk of file.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
      const buffer = chunk as Buffer;
      let start = 0;
      for (let nl = buffer.indexOf(NEWLINE); nl !== -1; nl = buffer.indexOf(NEWLINE, start)) {
        const piece = buffer.subarray(start, nl);
        const bytes = partial.length === 0 ? piece : Buffer.concat([...partial, piece]);
        partial = [];
        const end = offset + bytes.length + 1;
        yield { bytes, number: ++number, offset, end };
        offset = end;
        start = nl + 1;
      }
      if (start < buffer.length) partial.push(buffer.subarray(start));
    }
    if (strict && partial.length > 0) {
      throw new KnowledgeStoreCorruptError('ends without a newline (cut short)', {
        file: path,
        line: number + 1,
        offset,
      });
    }
  } finally {
    await file.close();
  }
}

/** Buffers checksummed lines into large writes to a new file. */
export class LineWriter {
  readonly #file: FileHandle;
  #parts: string[] = [];
  #size = 0;
  #crc = 0;
  /** Bytes handed to `write` (UTF-8). */
  bytes = 0;

  constructor(file: FileHandle) {
    this.#file = file;
  }

  /** Queues a line; resolves to its size in bytes. */
  async write(json: string): Promise<number> {
    const { text, crc } = formatLine(this.#crc, json);
    this.#crc = crc;
    this.#parts.push(text);
    this.#size += text.length;
    const bytes = Buffer.byteLength(text);
    this.bytes += bytes;
    if (this.#size >= 1 << 20) await this.flush();
    return bytes;
  }

  async flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const text = this.#parts.join('');
    this.#parts = [];
    this.#size = 0;
    await this.#file.appendFile(text);
  }
}

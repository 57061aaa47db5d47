import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-errors.ts';

/**
 * Reads a request body as JSON, refusing more than `limitBytes` (413, checked against
 * Content-Length first and then while streaming), non-JSON content types (415) and
 * malformed JSON (400). An empty body reads as `undefined`.
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    req.resume();
    throw tooLarge(limitBytes);
  }
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    req.resume();
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Send JSON with Content-Type: application/json, not "${type}".`,
    );
  }
  const text = await readBodyText(req, limitBytes);
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError('INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a request body as UTF-8 text, refusing more than `limitBytes` (413, checked against
 * Content-Length first and then while streaming).
 */
export async function readBodyText(req: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    req.resume();
    throw tooLarge(limitBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) {
      req.resume();
      throw tooLarge(limitBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function tooLarge(limitBytes: number): HttpError {
  return new HttpError('BODY_TOO_LARGE', `The request body is larger than the ${limitBytes}-byte limit.`, {
    details: { limitBytes },
  });
}

import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError, statusFor } from './http-errors.ts';

/**
 * Answers a request node:http could not parse, on the raw socket: 431 for headers over the
 * limit, 408 for a request not received within the request timeout, 400 otherwise, each
 * with a JSON error body and `Connection: close`. A socket whose response already started
 * is closed instead.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const response = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent === true) {
    socket.destroy();
    return;
  }
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new HttpError(
          'HEADERS_TOO_LARGE',
          'The request headers are over the size limit; send fewer or smaller headers.',
        )
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new HttpError('REQUEST_TIMEOUT', 'The request was not received in time; send it whole, promptly.')
        : new HttpError('INVALID_REQUEST', `The request is not valid HTTP (${error.code ?? 'parse error'}).`);
  const status = statusFor(refusal);
  const body = JSON.stringify({ error: refusal.toJSON() });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

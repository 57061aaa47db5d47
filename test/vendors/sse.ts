import type { ServerResponse } from 'node:http';

/** One server-sent event: `data` is written as is (a string) or as JSON. */
export interface SseEvent {
  event?: string;
  data: unknown;
}

/** True when the request came over HTTP/2 (the fake also serves h2 over TLS). */
export function isHttp2(res: ServerResponse): boolean {
  return res.req?.httpVersionMajor === 2;
}

export function sseHeaders(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    // HTTP/2 forbids connection-specific headers
    ...(isHttp2(res) ? {} : { connection: 'keep-alive' }),
  });
}

export function sseText(e: SseEvent): string {
  const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  return `${e.event === undefined ? '' : `event: ${e.event}\n`}data: ${data}\n\n`;
}

/**
 * Writes a stream with the fault a scenario asks for: `malformed` breaks the third event,
 * `reset` destroys the socket after two, `stall` stops after two and never ends, `error`
 * sends `before` events (default 2) and then the vendor's error event (`errorEvent`) and ends.
 */
export function writeStream(
  res: ServerResponse,
  events: SseEvent[],
  fault: 'malformed' | 'reset' | 'stall' | 'error' | undefined,
  errorEvent?: SseEvent,
  before = 2,
): void {
  sseHeaders(res);
  if (fault === 'error') {
    res.end([...events.slice(0, before), errorEvent as SseEvent].map(sseText).join(''));
    return;
  }
  if (fault === 'stall') {
    res.write(events.slice(0, 2).map(sseText).join(''));
    return;
  }
  if (fault === 'reset') {
    res.write(events.slice(0, 2).map(sseText).join(''));
    setImmediate(() => res.socket?.destroy());
    return;
  }
  let text = '';
  for (const [i, e] of events.entries()) {
    text +=
      fault === 'malformed' && i === 2
        ? `${e.event === undefined ? '' : `event: ${e.event}\n`}data: {"choices": [ oops\n\n`
        : sseText(e);
  }
  res.end(text);
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

// A fake model vendor for tests and benchmarks: speaks OpenAI Chat Completions, Anthropic
// Messages and DashScope's native API on loopback, with scenarios for tool calls and faults
// (see scenario.ts). Never part of the product.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { ANTHROPIC_MID_ERRORS, readAnthropic, renderAnthropic } from './anthropic.ts';
import { DASHSCOPE_MID_ERRORS, readDashScope, renderDashScope } from './dashscope.ts';
import { renderDashScopeEmbeddings, renderOpenAiEmbeddings } from './embeddings.ts';
import { OPENAI_MID_ERRORS, readOpenAi, renderOpenAi } from './openai.ts';
import { answer, type Body, type MidStreamError, scenarioOf } from './scenario.ts';
import { json } from './sse.ts';

/** The code and message the fake sends for a mid-stream error, as each vendor spells them. */
export function vendorMidStreamError(
  kind: 'openai' | 'anthropic' | 'dashscope',
  error: MidStreamError,
): { code: string; message: string; status?: number } {
  if (kind === 'anthropic') {
    const e = ANTHROPIC_MID_ERRORS[error];
    return { code: e.type, message: e.message };
  }
  if (kind === 'dashscope') {
    const [status, code, message] = DASHSCOPE_MID_ERRORS[error];
    return { code, message, status };
  }
  const e = OPENAI_MID_ERRORS[error];
  return { code: String(e.code ?? e.type), message: String(e.message) };
}

export interface SeenCall {
  path: string;
  headers: IncomingMessage['headers'];
  body: Body;
  /** `1.1` or `2.0`. */
  httpVersion: string;
}

export interface VendorServer {
  /** `http://127.0.0.1:port`, or `https://…` with `tls`. */
  readonly url: string;
  /** Every request received (kept only when `record` is on). */
  readonly calls: SeenCall[];
  /** Connections accepted so far (TCP, or TLS with `tls`). */
  readonly connections: number;
  /** Connections open now. */
  readonly openSockets: number;
  /** Requests received and not yet answered (held ones included). */
  readonly inFlight: number;
  /** The most requests in flight at once so far. */
  readonly peakInFlight: number;
  /** With `hold`: answers every held request, and later ones at once. */
  release(): void;
  close(): Promise<void>;
}

export interface VendorServerOptions {
  port?: number;
  latencyMs?: number;
  record?: boolean;
  /** Serve HTTPS with this key and certificate, offering HTTP/2 (ALPN `h2`) and HTTP/1.1. */
  tls?: { key: string; cert: string };
  /** Hold every request unanswered until `release()` (to see how many a client sends at once). */
  hold?: boolean;
}

export async function startVendorServer(options: VendorServerOptions = {}): Promise<VendorServer> {
  const calls: SeenCall[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const latency = options.latencyMs ?? 0;
  const record = options.record ?? true;
  let connections = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let holding = options.hold ?? false;
  const held: Array<() => void> = [];

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    let body: Body;
    try {
      body = JSON.parse(raw);
    } catch {
      json(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
      return;
    }
    const path = req.url ?? '';
    if (record) calls.push({ path, headers: req.headers, body, httpVersion: req.httpVersion });
    const header = req.headers['x-mock-scenario'];
    const named = Array.isArray(header) ? header[0] : header;
    if (path.endsWith('/embeddings')) {
      renderOpenAiEmbeddings(res, body as Record<string, unknown>, named);
    } else if (path.endsWith('/services/embeddings/text-embedding/text-embedding')) {
      renderDashScopeEmbeddings(res, body as Record<string, unknown>, named);
    } else if (path.endsWith('/chat/completions')) {
      const seen = readOpenAi(body);
      const scenario = scenarioOf(named, seen);
      renderOpenAi(res, body, seen, answer(scenario, seen), scenario === 'nousage');
    } else if (path.endsWith('/v1/messages')) {
      if (req.headers['x-api-key'] === undefined || req.headers['anthropic-version'] === undefined) {
        json(res, 401, {
          type: 'error',
          error: { type: 'authentication_error', message: 'x-api-key and anthropic-version are required' },
        });
        return;
      }
      const seen = readAnthropic(body);
      renderAnthropic(res, body, seen, answer(scenarioOf(named, seen), seen));
    } else if (path.endsWith('/services/aigc/text-generation/generation')) {
      const seen = readDashScope(body);
      const scenario = scenarioOf(named, seen);
      const stream =
        req.headers['x-dashscope-sse'] === 'enable' || req.headers.accept === 'text/event-stream';
      renderDashScope(res, body, seen, answer(scenario, seen), stream, scenario === 'nousage');
    } else {
      json(res, 404, { error: { message: `no route ${path}`, type: 'not_found' } });
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => {
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      res.on('close', () => inFlight--);
      const answer = () => {
        if (latency === 0) return handle(req, res, raw);
        const timer = setTimeout(() => {
          timers.delete(timer);
          handle(req, res, raw);
        }, latency);
        timers.add(timer);
      };
      if (holding) held.push(answer);
      else answer();
    });
  };
  // The HTTP/2 compatibility API has the same request/response shape as node:http.
  const server =
    options.tls === undefined
      ? createServer(onRequest)
      : createSecureServer(
          { key: options.tls.key, cert: options.tls.cert, allowHTTP1: true },
          onRequest as unknown as Parameters<typeof createSecureServer>[1],
        );
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    calls,
    get connections() {
      return connections;
    },
    get openSockets() {
      return sockets.size;
    },
    get inFlight() {
      return inFlight;
    },
    get peakInFlight() {
      return peakInFlight;
    },
    release() {
      holding = false;
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

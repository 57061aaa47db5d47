import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { Runtime } from '../core/index.ts';
import type { KnowledgeBase } from '../knowledge/index.ts';
import type { Metrics } from '../observability/metrics/index.ts';
import {
  contextFromTraceparent,
  dropNewTrace,
  inSpan,
  runUnsampled,
  SpanKind,
  tracingEnabled,
} from '../observability/trace-hooks.ts';
import type { AgentStateStore } from '../state/index.ts';
import { runInTenant, type TenantContext, type TenantDeletion } from '../tenancy/index.ts';
import { sendError, sendJson, statusFor } from './http-errors.ts';
import { authorize, type RequestAuth } from './request-auth.ts';
import { type RouteContext, type RouteHandler, type RouteMatch, Router } from './router.ts';
import { actRoute } from './routes/act.ts';
import { addAgentRoutes } from './routes/agents.ts';
import { addChatCompletionsRoute } from './routes/chat-completions.ts';
import { addDebugRoutes, type DebugSources } from './routes/debug.ts';
import { addKnowledgeRoutes } from './routes/knowledge.ts';
import { addMetricsRoute } from './routes/metrics.ts';
import { addStateRoutes } from './routes/state.ts';
import { addTenantRoutes, serverTenantDeletion } from './routes/tenants.ts';

/** Options for `AgentfleetServer`. */
export interface HttpServerOptions {
  runtime: Runtime;
  /** Id of the running act agent (without a tenant) that serves `/act`; without it `/act` is not routed. */
  actAgentId?: string;
  /**
   * Whether `/act` answers without a key. Default false: it needs a tenant or admin key like
   * every route. When public, a key that is sent is still checked and the request runs as its tenant.
   */
  publicAct?: boolean;
  /**
   * How requests are authenticated. An `Authenticator` checks `Authorization: Bearer` keys
   * and runs each request as its tenant; `none` trusts every caller (only behind your own gateway).
   */
  auth: RequestAuth;
  /** Per-agent state and the bus its deltas go on; without it the state routes are not served. */
  state?: { store: AgentStateStore; bus: Bus };
  /** Serves `GET /metrics` (admin-only unless `metricsPublic`). */
  metrics?: Metrics;
  /** Let Prometheus scrape `/metrics` without a key. Default false. */
  metricsPublic?: boolean;
  /** Serves `/v1/knowledge/*` (ingest, delete, search per tenant). */
  knowledge?: KnowledgeBase;
  /** Serves the admin-only `/debug/vars` and `/debug/pprof/*` routes. */
  debug?: DebugSources;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Milliseconds before an unfinished request is answered 408 by node:http. Default 30 s. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/**
 * The HTTP face of a runtime: `/act`, health probes and the agents API. It only composes
 * capabilities; `close()` drains in-flight requests before closing connections.
 */
export class AgentfleetServer {
  /** How `DELETE /v1/tenants/:tenant` deletes a tenant; call it to do the same from code. Undefined without keys. */
  readonly tenantDeletion: TenantDeletion | undefined;
  readonly #server: Server;
  readonly #router = new Router();
  readonly #logger: Logger | undefined;
  readonly #auth: RequestAuth;
  /** Aborted when `close()` starts, ending open event streams. */
  readonly #stopping = new AbortController();
  #closeDebug: (() => void) | undefined = undefined;
  #inFlight = 0;
  #draining: PromiseWithResolvers<void> | undefined = undefined;
  #closing: Promise<void> | undefined = undefined;
  #listening = false;

  constructor(options: HttpServerOptions) {
    const bodyLimit = options.bodyLimitBytes ?? 1024 * 1024;
    this.#logger = options.logger;
    this.#auth = options.auth;
    const runtime = options.runtime;
    if (options.actAgentId !== undefined) {
      const act = actRoute(runtime.agent(options.actAgentId), bodyLimit);
      const access = options.publicAct === true ? 'optional' : 'tenant';
      this.#router.add('GET', '/act', act, access).add('POST', '/act', act, access);
    }
    this.#router.add('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }), 'public');
    this.#router.add(
      'GET',
      '/readyz',
      (_req, res) => {
        const ready = this.#listening && this.#closing === undefined && !runtime.closed;
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
      },
      'public',
    );
    addAgentRoutes(this.#router, runtime, bodyLimit);
    addChatCompletionsRoute(this.#router, runtime, bodyLimit);
    if (options.state !== undefined) {
      const { store, bus } = options.state;
      addStateRoutes(this.#router, runtime, store, bus, bodyLimit, this.#stopping.signal);
    }
    if (options.knowledge !== undefined) addKnowledgeRoutes(this.#router, options.knowledge, bodyLimit);
    if (options.metrics !== undefined) {
      addMetricsRoute(this.#router, options.metrics, options.metricsPublic === true ? 'public' : 'admin');
    }
    if (options.debug !== undefined) {
      this.#closeDebug = addDebugRoutes(this.#router, options.debug, this.#stopping.signal);
    }
    if (options.auth.authenticator !== 'none') {
      const { authenticator, quotas } = options.auth;
      const owners = { state: options.state?.store, knowledge: options.knowledge };
      this.tenantDeletion = serverTenantDeletion(runtime, authenticator, quotas, owners);
      addTenantRoutes(this.#router, runtime, authenticator, quotas, bodyLimit, this.tenantDeletion);
    }
    this.#server = createServer(
      { requestTimeout: options.requestTimeoutMs ?? 30_000, keepAliveTimeout: 5_000 },
      (req, res) => {
        this.#handle(req, res);
      },
    );
    this.#server.on('clientError', (error, socket) => {
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      this.#logger?.debug({ err: error }, 'client error');
    });
  }

  /** Starts listening; resolves with the bound address. */
  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#listening = true;
    return this.#server.address() as AddressInfo;
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Stops accepting connections, waits up to `timeoutMs` for in-flight requests to finish
   * (answering them with `Connection: close`), then closes every connection. Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs ?? 10_000);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#stopping.abort();
    this.#closeDebug?.();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    if (this.#inFlight > 0) {
      this.#draining = Promise.withResolvers<void>();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([this.#draining.promise, deadline]);
      clearTimeout(timer);
      if (this.#inFlight > 0) this.#logger?.warn({ inFlight: this.#inFlight }, 'shutdown deadline passed');
    }
    this.#server.closeAllConnections();
    await closed;
    this.#listening = false;
  }

  /**
   * Handles one request as the server would, without a socket: for benchmarks and tests that
   * measure the request path itself. Resolves when the handler is done.
   */
  dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.#handle(req, res);
  }

  async #route(req: IncomingMessage, res: ServerResponse, match: RouteMatch): Promise<void> {
    const { handler, access, ctx } = match;
    let scope = authorize(req, access, this.#auth);
    if (scope instanceof Promise) scope = await scope;
    await (scope === undefined ? handler(req, res, ctx) : runAs(scope, handler, req, res, ctx));
  }

  /** `#route` inside a SERVER span that continues the caller's `traceparent`, if it sent one. */
  #traced(req: IncomingMessage, res: ServerResponse, match: RouteMatch): Promise<void> {
    const header = req.headers.traceparent;
    if (header === undefined && dropNewTrace()) return runUnsampled(() => this.#route(req, res, match));
    const method = req.method ?? 'GET';
    return inSpan(
      `${method} ${match.pattern}`,
      SpanKind.SERVER,
      {
        'http.request.method': method,
        'http.route': match.pattern,
        'url.path': (req.url ?? '/').split('?')[0]!,
      },
      () => this.#route(req, res, match),
      {
        parent: contextFromTraceparent(typeof header === 'string' ? header : undefined),
        onResult: (span) => span.setAttribute('http.response.status_code', res.statusCode),
      },
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inFlight++;
    if (this.#closing !== undefined) res.shouldKeepAlive = false;
    try {
      const match = this.#router.match(req.method ?? 'GET', req.url ?? '/');
      if (tracingEnabled()) await this.#traced(req, res, match);
      else await this.#route(req, res, match);
    } catch (error) {
      const status = statusFor(error);
      if (status >= 500 && status !== 503) {
        this.#logger?.error({ err: error, method: req.method, url: req.url }, 'request failed');
      }
      sendError(res, error);
    } finally {
      this.#inFlight--;
      if (this.#draining !== undefined && this.#inFlight === 0) this.#draining.resolve();
    }
  }
}

/** Runs a route handler as a tenant: everything it starts sees that tenant. */
function runAs(
  tenant: TenantContext,
  handler: RouteHandler,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RouteContext,
): unknown {
  return runInTenant(tenant, () => handler(req, res, ctx));
}

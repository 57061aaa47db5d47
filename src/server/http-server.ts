import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Autoscaler } from '../autoscale/index.ts';
import type { TokenBudgetGate } from '../budgets/index.ts';
import type { Bus } from '../bus/index.ts';
import { type AgentFleet, LocalFleet } from '../cluster/index.ts';
import {
  contextFromTraceparent,
  dropNewTrace,
  inSpan,
  runInTenant,
  runUnsampled,
  SpanKind,
  type TenantContext,
  tracingEnabled,
} from '../context/index.ts';
import type { Runtime } from '../core/index.ts';
import { parseOptions } from '../errors/index.ts';
import type { AgentGroups } from '../groups/index.ts';
import type { KnowledgeBase } from '../knowledge/index.ts';
import { nodeTenantDeletion } from '../node/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { ProvenanceStore } from '../provenance/index.ts';
import type { RunService } from '../runs/index.ts';
import type { TenantDefinitions } from '../spec/index.ts';
import type { AgentStateStore } from '../state/index.ts';
import type { TenantDeletion } from '../tenancy/index.ts';
import { answerClientError } from './client-error.ts';
import { sendError, sendJson, statusFor } from './http-errors.ts';
import { type HttpServerValueOptions, httpServerOptionsSchema } from './http-server-options.ts';
import { authorize, type RequestAuth } from './request-auth.ts';
import { type RouteContext, type RouteHandler, type RouteMatch, Router } from './router.ts';
import { actRoute } from './routes/act.ts';
import { addAgentRoutes } from './routes/agents.ts';
import { addApprovalRoutes } from './routes/approvals.ts';
import { addAutoscalerRoute } from './routes/autoscaler.ts';
import { addChatCompletionsRoute } from './routes/chat-completions.ts';
import { addClusterRoute, type ClusterView } from './routes/cluster.ts';
import { addDebugRoutes, type DebugSources } from './routes/debug.ts';
import { addDefinitionRoutes } from './routes/definitions.ts';
import { addGroupRoutes } from './routes/groups.ts';
import { addKnowledgeRoutes } from './routes/knowledge.ts';
import { addMetricsRoute } from './routes/metrics.ts';
import { addProvenanceRoutes } from './routes/provenance.ts';
import { addRolloutRoutes, type RolloutRoutesOptions } from './routes/rollouts.ts';
import { addRunRoutes } from './routes/runs.ts';
import { addStateRoutes } from './routes/state.ts';
import { addTenantRoutes } from './routes/tenants.ts';

/** Options for `AgentfleetServer`: the plain values of `httpServerOptionsSchema`, plus the capabilities it serves. */
export type HttpServerOptions = HttpServerValueOptions & {
  runtime: Runtime;
  /**
   * How the agents routes, the OpenAI endpoint and the state routes reach agents (a node's
   * `agents`: in a cluster, wherever each agent is active). Default: this runtime's, with
   * `runs` and `state`.
   */
  agents?: AgentFleet;
  /** Serves the admin-only `GET /v1/cluster` (a node's `cluster`: its id, the live nodes, its active agents). */
  cluster?: ClusterView;
  /**
   * How requests are authenticated. An `Authenticator` checks `Authorization: Bearer` keys
   * and runs each request as its tenant; `none` trusts every caller (only behind your own gateway).
   */
  auth: RequestAuth;
  /** Per-agent state and the bus its deltas go on; without it the state routes are not served. */
  state?: { store: AgentStateStore; bus: Bus };
  /** Serves `GET /metrics` (admin-only unless `metricsPublic`). */
  metrics?: Metrics;
  /** Serves `/v1/knowledge/*` (ingest, delete, search per tenant). */
  knowledge?: KnowledgeBase;
  /** Serves `/v1/definitions/*` (each tenant's own agent specs); purged with the tenant. */
  definitions?: TenantDefinitions;
  /** Serves `/v1/definitions/:name/rollout*` (canary rollouts of a tenant's definitions, or the node's for the admin). */
  rollouts?: RolloutRoutesOptions;
  /** Serves `/v1/groups*` (a node's agent groups, per tenant). */
  groups?: AgentGroups;
  /** Serves the admin-only `GET /v1/autoscaler`: a node's `autoscaler`, or `null` for a node without policies. */
  autoscaler?: Autoscaler | null;
  /**
   * Durable runs (a node's `runs`): serves `/v1/runs/*`, `/v1/agents/:id/runs` and
   * `/v1/approvals*`, and runs messages to durable agents through it (a disconnect is not a cancel).
   */
  runs?: RunService;
  /** Serves `/v1/provenance` and `/v1/provenance/export` (a node's `provenance.store`), tenant-scoped. */
  provenance?: ProvenanceStore;
  /** Serves the admin-only `/debug/vars` and `/debug/pprof/*` routes. */
  debug?: DebugSources;
  /** Tenants' spending in their budget period (a node's `budgets`), shown by `GET /v1/stats` and the admin's `GET /v1/tenants/:tenant`. */
  budgets?: Pick<TokenBudgetGate, 'spendOf'>;
  /** How `DELETE /v1/tenants/:tenant` deletes a tenant (a node's `tenancy.deletion`). Default: one over `runtime`, `state`, `knowledge`, `definitions` and the quotas. */
  tenantDeletion?: TenantDeletion;
  logger?: Logger;
};

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
  /** Responses being produced now; at shutdown those without headers yet get `Connection: close`. */
  readonly #responses = new Set<ServerResponse>();
  #idleGraceOver = false;
  #closing: Promise<void> | undefined = undefined;
  #listening = false;

  constructor(options: HttpServerOptions) {
    const values = parseOptions('HTTP server', httpServerOptionsSchema, {
      actAgentId: options.actAgentId,
      publicAct: options.publicAct,
      metricsPublic: options.metricsPublic,
      bodyLimitBytes: options.bodyLimitBytes,
      streams: options.streams,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    const bodyLimit = values.bodyLimitBytes;
    this.#logger = options.logger;
    this.#auth = options.auth;
    const runtime = options.runtime;
    if (values.actAgentId !== undefined) {
      const act = actRoute(runtime.agent(values.actAgentId), bodyLimit);
      const access = values.publicAct ? 'optional' : 'tenant';
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
    const runs = options.runs;
    const fleet = options.agents ?? new LocalFleet(runtime, { runs, state: options.state?.store });
    addAgentRoutes(
      this.#router,
      runtime,
      fleet,
      bodyLimit,
      values.streams,
      options.definitions,
      options.budgets,
    );
    addChatCompletionsRoute(this.#router, fleet, bodyLimit, values.streams, runs);
    if (runs !== undefined) {
      addRunRoutes(this.#router, runs, bodyLimit, { ...values.streams, stopping: this.#stopping.signal });
      addApprovalRoutes(this.#router, runs, bodyLimit);
    }
    if (options.state !== undefined) {
      addStateRoutes(this.#router, fleet, options.state.bus, bodyLimit, {
        ...values.streams,
        stopping: this.#stopping.signal,
      });
    }
    if (options.cluster !== undefined) addClusterRoute(this.#router, options.cluster);
    if (options.knowledge !== undefined) addKnowledgeRoutes(this.#router, options.knowledge, bodyLimit);
    if (options.definitions !== undefined) addDefinitionRoutes(this.#router, options.definitions, bodyLimit);
    if (options.rollouts !== undefined) addRolloutRoutes(this.#router, options.rollouts, bodyLimit);
    if (options.groups !== undefined) addGroupRoutes(this.#router, options.groups, bodyLimit);
    if (options.autoscaler !== undefined) addAutoscalerRoute(this.#router, options.autoscaler ?? undefined);
    if (options.provenance !== undefined) addProvenanceRoutes(this.#router, options.provenance);
    if (options.metrics !== undefined) {
      addMetricsRoute(this.#router, options.metrics, values.metricsPublic ? 'public' : 'admin');
    }
    if (options.debug !== undefined) {
      // One event-loop monitor per server: the metrics' when there are metrics.
      const eventLoop = options.debug.eventLoop ?? options.metrics?.eventLoop;
      this.#closeDebug = addDebugRoutes(
        this.#router,
        eventLoop === undefined ? options.debug : { ...options.debug, eventLoop },
        this.#stopping.signal,
      );
    }
    if (options.auth.authenticator !== 'none') {
      const { authenticator, quotas } = options.auth;
      this.tenantDeletion =
        options.tenantDeletion ??
        nodeTenantDeletion({
          registry: authenticator.registry,
          runtime,
          authenticator,
          quotas,
          state: options.state?.store,
          knowledge: options.knowledge,
          definitions: options.definitions,
        });
      addTenantRoutes(
        this.#router,
        runtime,
        authenticator,
        quotas,
        bodyLimit,
        this.tenantDeletion,
        options.budgets,
      );
    }
    const requestTimeout = values.requestTimeoutMs;
    this.#server = createServer(
      {
        requestTimeout,
        headersTimeout: requestTimeout,
        // node:http checks both timeouts only every `connectionsCheckingInterval` (30 s by
        // default), so a 30 s timeout fired after 30 to 60 s: check ten times per timeout.
        connectionsCheckingInterval: Math.min(1_000, Math.max(10, Math.ceil(requestTimeout / 10))),
        keepAliveTimeout: 5_000,
      },
      (req, res) => {
        this.#handle(req, res);
      },
    );
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      this.#logger?.debug({ err: error }, 'client error');
      answerClientError(error, socket);
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

  /** The node:http server underneath (to observe connections, or to take upgrades); close it with `close()`. */
  get httpServer(): Server {
    return this.#server;
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Stops accepting connections and drains: every response from now on says `Connection:
   * close` (and its socket closes after it), so a keep-alive client learns to stop sending on
   * it; idle keep-alive sockets stay open for `idleGraceMs`, answering any request already on
   * its way to them, then close; after `timeoutMs` every connection still open is closed.
   * Resolves once no connection is left. Idempotent.
   */
  close(options: { timeoutMs?: number; idleGraceMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.#closing ??= this.#close(timeoutMs, Math.min(options.idleGraceMs ?? 1_000, timeoutMs));
    return this.#closing;
  }

  async #close(timeoutMs: number, idleGraceMs: number): Promise<void> {
    this.#stopping.abort();
    this.#closeDebug?.();
    const server = this.#server;
    for (const res of this.#responses) {
      if (!res.headersSent) res.shouldKeepAlive = false;
      // Its headers promised keep-alive: once done and past the grace, its idle socket closes.
      else res.once('finish', () => this.#idleGraceOver && setImmediate(() => server.closeIdleConnections()));
    }
    // http's close() also destroys idle keep-alive sockets at once, resetting requests already
    // on the wire to them; stop listening without that, and close idle sockets after a grace.
    server.closeIdleConnections = () => {};
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    Reflect.deleteProperty(server, 'closeIdleConnections');
    const grace = setTimeout(() => {
      this.#idleGraceOver = true;
      server.closeIdleConnections();
    }, idleGraceMs);
    const deadline = setTimeout(() => {
      if (this.#inFlight > 0) this.#logger?.warn({ inFlight: this.#inFlight }, 'shutdown deadline passed');
      server.closeAllConnections();
    }, timeoutMs);
    await closed;
    clearTimeout(grace);
    clearTimeout(deadline);
    this.#listening = false;
  }

  /**
   * Handles one request as the server would, without a socket: for benchmarks and tests that
   * measure the request path itself. Resolves when the handler is done.
   */
  async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.#handle(req, res);
  }

  /** Authorizes, then runs the handler in the caller's tenant; no promise when both are synchronous. */
  #route(req: IncomingMessage, res: ServerResponse, match: RouteMatch): unknown {
    const { handler, access, ctx } = match;
    const scope = authorize(req, access, this.#auth);
    if (scope instanceof Promise)
      return scope.then((s) => (s === undefined ? handler(req, res, ctx) : runAs(s, handler, req, res, ctx)));
    return scope === undefined ? handler(req, res, ctx) : runAs(scope, handler, req, res, ctx);
  }

  /** `#route` inside a SERVER span that continues the caller's `traceparent`, if it sent one. */
  #traced(req: IncomingMessage, res: ServerResponse, match: RouteMatch): Promise<void> {
    const header = req.headers.traceparent;
    if (header === undefined && dropNewTrace())
      return runUnsampled(async () => {
        await this.#route(req, res, match);
      });
    const method = req.method ?? 'GET';
    return inSpan(
      `${method} ${match.pattern}`,
      SpanKind.SERVER,
      {
        'http.request.method': method,
        'http.route': match.pattern,
        'url.path': (req.url ?? '/').split('?')[0]!,
      },
      async () => {
        await this.#route(req, res, match);
      },
      {
        parent: contextFromTraceparent(typeof header === 'string' ? header : undefined),
        onResult: (span) => span.setAttribute('http.response.status_code', res.statusCode),
      },
    );
  }

  // Not async: the common request (a synchronous route, or one promise) costs no extra ticks.
  #handle(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
    this.#inFlight++;
    this.#responses.add(res);
    if (this.#closing !== undefined) res.shouldKeepAlive = false;
    let pending: unknown;
    try {
      const match = this.#router.match(req.method ?? 'GET', req.url ?? '/');
      pending = tracingEnabled() ? this.#traced(req, res, match) : this.#route(req, res, match);
    } catch (error) {
      this.#fail(req, res, error);
      return undefined;
    }
    if (!(pending instanceof Promise)) {
      this.#done(res);
      return undefined;
    }
    return pending.then(
      () => this.#done(res),
      (error: unknown) => this.#fail(req, res, error),
    );
  }

  #fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const status = statusFor(error);
    if (status >= 500 && status !== 503) {
      this.#logger?.error({ err: error, method: req.method, url: req.url }, 'request failed');
    }
    try {
      sendError(res, error);
    } finally {
      this.#done(res);
    }
  }

  #done(res: ServerResponse): void {
    this.#inFlight--;
    this.#responses.delete(res);
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

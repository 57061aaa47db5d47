/**
 * `agentfleet/server`: the HTTP server (routes, SSE streams, the OpenAI-compatible endpoint,
 * `/metrics`, debug endpoints) and `serve`, which the CLI runs; with the settings, metrics,
 * tracing and tenancy pieces a program embedding the server wires into it. Kept out of the
 * root export so a library user does not load the server, the exporters or a Redis client.
 */
export {
  ConfigInvalidError,
  loadServerConfig,
  type ServerConfig,
  serverConfigSchema,
} from '../config/index.ts';
export {
  createMetrics,
  type Metrics,
  type MetricsOptions,
  setupTracing,
  type TracingHandle,
  type TracingOptions,
} from '../observability/index.ts';
export {
  Authenticator,
  type AuthenticatorOptions,
  issueApiKey,
  MemoryTenantRegistry,
  type Principal,
  TenantDeletion,
  type TenantDeletionOptions,
  type TenantQuotas,
  type TenantRecord,
  type TenantRegistry,
} from '../tenancy/index.ts';
export {
  type ErrorCode,
  type HttpErrorCode,
  type ServerErrorCode,
  STATUS_BY_CODE,
  statusFor,
} from './http-errors.ts';
export { AgentfleetServer, type HttpServerOptions } from './http-server.ts';
export { type RunningServer, startServer } from './start-server.ts';

import type { ServerResponse } from 'node:http';
import type { AutoscaleErrorCode } from '../autoscale/index.ts';
import type { BudgetsErrorCode } from '../budgets/index.ts';
import type { BusErrorCode } from '../bus/index.ts';
import type { ChannelErrorCode } from '../channel/index.ts';
import type { ClusterErrorCode } from '../cluster/index.ts';
import type { ConfigErrorCode } from '../config/index.ts';
import type { ContextErrorCode } from '../context/index.ts';
import type { CoreErrorCode } from '../core/index.ts';
import type { CrdtErrorCode } from '../crdt/index.ts';
import { AgentfleetError, type AgentfleetErrorOptions, type BaseErrorCode } from '../errors/index.ts';
import type { FrontDoorErrorCode } from '../front-door/index.ts';
import type { GroupsErrorCode } from '../groups/index.ts';
import type { KnowledgeErrorCode } from '../knowledge/index.ts';
import type { LlmErrorCode, ProviderConfigErrorCode } from '../llm/index.ts';
import type { LlmAgentErrorCode } from '../llm-agent/index.ts';
import type { ModelsErrorCode } from '../models/index.ts';
import type { PoolErrorCode } from '../pool/index.ts';
import type { ProvenanceErrorCode } from '../provenance/index.ts';
import type { ResilienceErrorCode } from '../resilience/index.ts';
import type { RolloutErrorCode } from '../rollout/index.ts';
import type { RulesErrorCode } from '../rules/index.ts';
import type { RunsErrorCode } from '../runs/index.ts';
import type { SpecErrorCode } from '../spec/index.ts';
import type { StateErrorCode } from '../state/index.ts';
import type { TenancyErrorCode } from '../tenancy/index.ts';
import type { ToolsErrorCode } from '../tools/index.ts';

/**
 * Every stable error code: the union of each capability's own. A code added to a capability's
 * union without a status in `STATUS_BY_CODE` fails the typecheck; so does a status for a code
 * no union has.
 */
export type ErrorCode =
  | BaseErrorCode
  | AutoscaleErrorCode
  | ContextErrorCode
  | BudgetsErrorCode
  | BusErrorCode
  | ChannelErrorCode
  | ClusterErrorCode
  | ConfigErrorCode
  | CoreErrorCode
  | CrdtErrorCode
  | FrontDoorErrorCode
  | GroupsErrorCode
  | KnowledgeErrorCode
  | LlmErrorCode
  | ProviderConfigErrorCode
  | LlmAgentErrorCode
  | ModelsErrorCode
  | PoolErrorCode
  | ResilienceErrorCode
  | RolloutErrorCode
  | RulesErrorCode
  | ProvenanceErrorCode
  | RunsErrorCode
  | SpecErrorCode
  | StateErrorCode
  | TenancyErrorCode
  | ToolsErrorCode
  | ServerErrorCode;

/**
 * The one table mapping error codes to HTTP statuses, a `Record` over `ErrorCode` so the
 * typecheck fails on a code without a status. `status-by-code.test.ts` also scans `src/` for
 * codes given literally and fails on one missing here. Codes not in the table are 500.
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  INVALID_INPUT: 400,
  INVALID_OPTIONS: 400,
  GROUP_SIZE_INVALID: 400,
  INVALID_RULES: 400,
  INVALID_TENANT_ID: 400,
  INVALID_TOPIC: 400,
  STATE_INVALID: 400,
  KNOWLEDGE_INVALID: 400,
  VECTOR_INVALID: 400,
  TENANT_REQUIRED: 400,
  LLM_CONTEXT_LENGTH: 400,
  INVALID_MODEL: 400,
  UNKNOWN_PROVIDER: 400,
  PROVIDER_REMOVED: 503,
  MODELS_CLOSED: 503,
  SPEC_INVALID: 400,
  CRDT_INVALID: 400,
  CRDT_NODE_ID_INVALID: 400,
  CRDT_OP_INVALID: 400,
  CRDT_CLOCK_SKEW: 422,
  CRDT_FOREIGN: 422,
  CRDT_TOO_LARGE: 413,
  CRDT_REPLICATOR_CLOSED: 503,
  APPROVAL_ARGUMENTS_INVALID: 400,
  EVENT_ID_INVALID: 400,
  RUN_NOT_FOUND: 404,
  APPROVAL_NOT_FOUND: 404,
  RUN_EXISTS: 409,
  RUN_CONFLICT: 409,
  RUN_FINISHED: 409,
  RUN_CANCELLED: 409,
  LEASE_LOST: 409,
  NODE_ID_TAKEN: 409,
  TOOL_REJECTED: 409,
  APPROVAL_DECIDED: 409,
  RUN_STORE_CORRUPT: 500,
  PROVENANCE_STORE_CORRUPT: 500,
  PROVENANCE_STORE_UNAVAILABLE: 503,
  RUN_STORE_UNAVAILABLE: 503,
  LEASE_STORE_UNAVAILABLE: 503,
  AGENT_RECORD_CORRUPT: 500,
  AGENT_DIRECTORY_UNAVAILABLE: 503,
  AGENT_OWNER_LOST: 503,
  DEFINITION_UNAVAILABLE: 422,
  CLUSTER_CALL_INVALID: 400,
  STATE_UNAVAILABLE: 501,
  RUNS_UNAVAILABLE: 501,
  MODEL_NOT_CONFIGURED: 503,
  DEFINITION_LIMIT: 409,
  SPEC_TOO_LARGE: 413,
  DEFINITION_RECORD_INVALID: 500,
  DEFINITION_STORE_UNAVAILABLE: 503,
  MESSAGE_UNENCODABLE: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  TOOL_AGENT_NOT_ALLOWED: 403,
  TENANT_DISABLED: 403,
  TENANT_MISMATCH: 403,
  GROUP_TENANT_MISMATCH: 403,
  TENANT_NOT_FOUND: 404,
  STATE_NOT_FOUND: 404,
  DOCUMENT_NOT_FOUND: 404,
  API_KEY_NOT_FOUND: 404,
  TENANT_EXISTS: 409,
  PROFILE_IN_PROGRESS: 409,
  NOT_FOUND: 404,
  AGENT_NOT_FOUND: 404,
  GROUP_NOT_FOUND: 404,
  DEFINITION_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  AGENT_EXISTS: 409,
  GROUP_EXISTS: 409,
  TOOL_AGENT_LOOP: 409,
  DEFINITION_EXISTS: 409,
  ILLEGAL_TRANSITION: 409,
  AGENT_NOT_RUNNING: 409,
  AGENT_STOPPED: 409,
  BODY_TOO_LARGE: 413,
  STATE_LIMIT_EXCEEDED: 413,
  HEAP_TOO_LARGE: 413,
  MESSAGE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RULES_NO_MATCH: 422,
  QUOTA_EXCEEDED: 429,
  BUDGET_EXCEEDED: 429,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  AGENT_STEP_FAILED: 500,
  AGENT_START_FAILED: 500,
  CONFIG_INVALID: 500,
  TOOL_AGENT_UNKNOWN_CALLER: 500,
  STATE_CONFIG_INVALID: 500,
  RESILIENCE_CONFIG_INVALID: 500,
  KNOWLEDGE_STORE_CORRUPT: 500,
  KNOWLEDGE_GRAPH_INVALID: 500,
  EMBEDDER_FAILED: 500,
  SCAN_THREAD_FAILED: 500,
  HANDLER_FAILED: 500,
  PROVIDER_CONFIG_INVALID: 500,
  LLM_AUTH: 502,
  LLM_BAD_REQUEST: 502,
  LLM_SERVER_ERROR: 502,
  LLM_CONNECTION_FAILED: 502,
  LLM_MALFORMED_RESPONSE: 502,
  LLM_OUTPUT_INVALID: 502,
  MCP_FAILED: 502,
  TOOL_HTTP_STATUS: 502,
  TOOL_HTTP_TOO_LARGE: 502,
  TOOL_HTTP_FAILED: 502,
  ALL_FALLBACKS_FAILED: 502,
  REQUEST_FAILED: 502,
  MESSAGE_UNDECODABLE: 502,
  MAILBOX_FULL: 503,
  POOL_OVERLOADED: 503,
  RATE_LIMITER_UNAVAILABLE: 503,
  POOL_CLOSED: 503,
  GROUP_CLOSED: 503,
  GROUP_UNAVAILABLE: 503,
  RUNTIME_CLOSED: 503,
  ABORTED: 503,
  TENANT_REGISTRY_FAILED: 503,
  TENANT_DELETION_INCOMPLETE: 503,
  STATE_STORE_CLOSED: 503,
  KNOWLEDGE_STORE_LOCKED: 503,
  EMBEDDER_CLOSED: 503,
  CIRCUIT_OPEN: 503,
  LLM_QUEUE_FULL: 503,
  LLM_RATE_LIMITED: 503,
  BUS_CLOSED: 503,
  CHANNEL_CLOSED: 503,
  NO_RESPONDERS: 503,
  TRANSPORT_FAILED: 503,
  SUBSCRIPTION_LOST: 503,
  INGRESS_OVERLOADED: 503,
  REDIS_UNAVAILABLE: 503,
  REPLY_TIMEOUT: 504,
  CALL_TIMEOUT: 504,
  LLM_TIMEOUT: 504,
  ROLLOUT_INVALID: 400,
  AUTOSCALE_POLICY_INVALID: 400,
  AUTOSCALE_QUERY_INVALID: 400,
  AUTOSCALE_SOURCE_UNAVAILABLE: 503,
  ROLLOUT_EXISTS: 409,
  ROLLOUT_NOT_FOUND: 404,
  ROLLOUT_NOT_ACTIVE: 409,
  ROLLOUT_RECORD_INVALID: 500,
  ROLLOUT_STORE_UNAVAILABLE: 503,
};

const statusByCode: Readonly<Record<string, number | undefined>> = STATUS_BY_CODE;

/** Statuses after which a client may retry; they get a `Retry-After` header. */
const RETRYABLE = new Set([429, 503]);

/** Stable codes of errors the HTTP layer raises itself. */
export type HttpErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'STATE_NOT_FOUND'
  | 'DOCUMENT_NOT_FOUND'
  | 'PROFILE_IN_PROGRESS'
  | 'HEAP_TOO_LARGE'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT';

/** Stable codes of the errors the server throws: its own HTTP errors, plus start-up and auth failures. */
export type ServerErrorCode = HttpErrorCode | 'FORBIDDEN' | 'INTERNAL' | 'REDIS_UNAVAILABLE';

/** An error raised by the HTTP layer itself (bad body, unknown route). */
export class HttpError extends AgentfleetError<HttpErrorCode> {
  constructor(code: HttpErrorCode, message: string, options?: AgentfleetErrorOptions) {
    super(code, message, options);
  }
}

/** Writes a JSON body with an exact Content-Length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders?: string[]): void {
  const text = JSON.stringify(body);
  const headers = [
    'content-type',
    'application/json; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(text)),
  ];
  if (extraHeaders !== undefined) headers.push(...extraHeaders);
  res.writeHead(status, headers);
  res.end(text);
}

/**
 * Answers with `{ error: { code, message } }` and the status from the table. Errors that are
 * not Agentfleet errors are reported as INTERNAL without their message (it may leak internals).
 */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (AgentfleetError.isInstance(error)) {
    const status = statusFor(error);
    let headers: string[] | undefined;
    if (RETRYABLE.has(status)) {
      const seconds = retryAfterSeconds(error.details);
      if (seconds !== undefined) headers = ['retry-after', String(seconds)];
    } else if (status === 401) headers = ['www-authenticate', 'Bearer'];
    else if (status === 405 && Array.isArray(error.details?.allow)) {
      headers = ['allow', (error.details.allow as string[]).join(', ')];
    }
    sendJson(res, status, { error: error.toJSON() }, headers);
    return;
  }
  sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Internal server error; see the server log.' } });
}

/** The public JSON of an error: Agentfleet errors as they are, anything else as INTERNAL without its message. */
export function errorJson(error: unknown): {
  code: string;
  message: string;
  details?: Record<string, unknown>;
} {
  return AgentfleetError.isInstance(error)
    ? error.toJSON()
    : { code: 'INTERNAL', message: 'Internal server error; see the server log.' };
}

/** The HTTP status for an error: from the table for Agentfleet errors, else 500. */
export function statusFor(error: unknown): number {
  return AgentfleetError.isInstance(error) ? (statusByCode[error.code] ?? 500) : 500;
}

/**
 * Whole seconds for `Retry-After`: from `details.retryAfterSeconds` or `retryAfterMs` when the
 * error knows, none for a quota on a count (agents, documents: waiting does not free it), else 1.
 */
function retryAfterSeconds(details: Record<string, unknown> | undefined): number | undefined {
  const seconds = details?.retryAfterSeconds;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const ms = details?.retryAfterMs;
  if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) return Math.max(1, Math.ceil(ms / 1000));
  if (details?.quota !== undefined) return undefined;
  return 1;
}

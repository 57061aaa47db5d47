import { z } from 'zod';
import {
  APPROVAL_ID_PATTERN,
  type ApprovalRecord,
  approvalNotFound,
  approvalStatusSchema,
  type RunService,
} from '../../runs/index.ts';
import { sendJson } from '../http-errors.ts';
import { parseRequest } from '../parse-request.ts';
import { readJsonBody } from '../read-json-body.ts';
import type { Router } from '../router.ts';

const listQuery = z.strictObject({
  /** Which approvals: one status, or `all`. Default `pending`. */
  status: z.union([approvalStatusSchema, z.literal('all')]).default('pending'),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  /** The `next` of the previous page. */
  after: z.string().regex(APPROVAL_ID_PATTERN, 'must be an approval id').optional(),
});
const reason = z.string().min(1).max(4096);
const decideBody = z.discriminatedUnion('approve', [
  z.strictObject({
    approve: z.literal(true),
    /** Edited arguments, checked against the tool's schema. */
    arguments: z.record(z.string(), z.unknown()).optional(),
    reason: reason.optional(),
  }),
  /** A rejection's reason is told to the model. */
  z.strictObject({ approve: z.literal(false), reason }),
]);

/** An approval id from a path: one that cannot be an approval's is simply not found. */
function approvalIdOf(id: string | undefined): string {
  if (id === undefined || !APPROVAL_ID_PATTERN.test(id)) throw approvalNotFound(String(id).slice(0, 64));
  return id;
}

/** JSON text as a value (arguments a model wrote need not be JSON: then the text itself). */
function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An approval as the API shows it: who asks for which call, why, and how long it has waited. */
export function approvalJson(approval: ApprovalRecord, now = Date.now()): Record<string, unknown> {
  return {
    id: approval.id,
    agentId: approval.agentId,
    runId: approval.runId,
    callId: approval.callId,
    tool: approval.tool,
    arguments: parsed(approval.arguments),
    reason: approval.reason,
    kind: approval.kind ?? 'approval',
    status: approval.status,
    requestedAt: approval.requestedAt,
    ageMs: Math.max(0, (approval.decidedAt ?? now) - approval.requestedAt),
    expiresAt: approval.expiresAt,
    decidedAt: approval.decidedAt,
    decidedArguments: parsed(approval.decidedArguments),
    decisionReason: approval.decisionReason,
    schema: approval.schema,
  };
}

/**
 * Tool approvals over HTTP, in the caller's tenant (another tenant's is `APPROVAL_NOT_FOUND`):
 * list them (pending by default, oldest first), read one, and decide one, which resumes its
 * run in the background once nothing else of it is pending.
 */
export function addApprovalRoutes(router: Router, runs: RunService, bodyLimitBytes: number): void {
  router.add('GET', '/v1/approvals', async (_req, res, { query }) => {
    const { status, limit, after } = parseRequest(listQuery, Object.fromEntries(query), 'query');
    const page = await runs.listApprovals({
      limit,
      ...(status === 'all' ? {} : { status }),
      ...(after === undefined ? {} : { after }),
    });
    const now = Date.now();
    sendJson(res, 200, {
      approvals: page.map((a) => approvalJson(a, now)),
      next: page.length === limit ? (page.at(-1)?.id ?? null) : null,
    });
  });

  router.add('GET', '/v1/approvals/:id', async (_req, res, { params }) => {
    sendJson(res, 200, approvalJson(await runs.getApproval(approvalIdOf(params.id))));
  });

  router.add('POST', '/v1/approvals/:id', async (req, res, { params }) => {
    const id = approvalIdOf(params.id);
    const body = parseRequest(decideBody, await readJsonBody(req, bodyLimitBytes), 'body');
    sendJson(res, 200, approvalJson(await runs.decide(id, body)));
  });
}

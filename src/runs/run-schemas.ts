import { z } from 'zod';

// The shapes a run store keeps. The zod schemas are the source: every row read back from a
// store is parsed with them, so a corrupt or foreign row is a typed error, never a crash later.

/** Run and approval ids: a prefix, then time-ordered base36 and random base64url characters. */
export const RUN_ID_PATTERN = /^run_[0-9a-z]{9}[A-Za-z0-9_-]{10,16}$/;
export const APPROVAL_ID_PATTERN = /^apr_[0-9a-z]{9}[A-Za-z0-9_-]{10,16}$/;

const text = z.string().max(16 * 1024 * 1024);
const tenant = z.string().max(64).optional();
const name = z.string().min(1).max(128);
const time = z.number().int().min(0);

const toolCall = z.strictObject({ id: z.string().max(256), name: z.string().max(64), arguments: text });

/** A chat message as the loop keeps it (the `Message` union of llm). */
export const messageSchema = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: text }),
  z.strictObject({ role: z.literal('user'), content: text }),
  z.strictObject({
    role: z.literal('assistant'),
    content: text,
    toolCalls: z.array(toolCall).max(1024).optional(),
  }),
  z.strictObject({
    role: z.literal('tool'),
    toolCallId: z.string().max(256),
    name: z.string().max(64),
    content: text,
    isError: z.boolean().optional(),
  }),
]);

const usage = z.strictObject({
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
});

/** Where a run is: running, waiting for a person, or finished (completed, failed, cancelled). */
export const runStatusSchema = z.enum(['running', 'awaiting-approval', 'completed', 'failed', 'cancelled']);
export type RunStatus = z.output<typeof runStatusSchema>;

/** Statuses after which a run never changes again. */
export const FINISHED_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled']);

/** True once a run is completed, failed or cancelled. */
export function isFinished(status: RunStatus): boolean {
  return FINISHED_STATUSES.has(status);
}

const passage = z.strictObject({
  documentId: z.string().max(512),
  chunk: z.number().int().min(0),
  text,
  score: z.number(),
});

/**
 * One checkpoint entry: a run is its `start` and everything appended after, never rewritten.
 * `tool-start` is written before a tool runs and `tool-result` after, so a crash in between
 * is visible on resume.
 */
export const runEventBodySchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('start'),
    input: text,
    /** Retrieved passages put in the model's context (kept, so a resumed run sees the same). */
    passages: z.array(passage).max(256).optional(),
    /** The agent's config at creation, so a resume after a restart can recreate the agent. */
    agentConfig: z.unknown().optional(),
  }),
  z.strictObject({ type: z.literal('step-start'), step: z.number().int().min(1) }),
  z.strictObject({
    type: z.literal('model-response'),
    step: z.number().int().min(1),
    message: messageSchema,
    usage,
  }),
  z.strictObject({
    type: z.literal('tool-start'),
    step: z.number().int().min(1),
    callId: z.string().max(256),
    name: z.string().max(64),
  }),
  z.strictObject({
    type: z.literal('tool-result'),
    step: z.number().int().min(1),
    callId: z.string().max(256),
    message: messageSchema,
    error: z.strictObject({ code: z.string().max(64), message: text }).optional(),
  }),
  z.strictObject({
    type: z.literal('approval-request'),
    step: z.number().int().min(1),
    approvalId: z.string().regex(APPROVAL_ID_PATTERN),
    callId: z.string().max(256),
    name: z.string().max(64),
    arguments: text,
    reason: z.string().max(4096).optional(),
    /** `interrupted`: the call started before a crash and may not run twice (approve = run it again, reject = skip). */
    kind: z.enum(['approval', 'interrupted']).optional(),
  }),
  z.strictObject({
    type: z.literal('approval-decision'),
    approvalId: z.string().regex(APPROVAL_ID_PATTERN),
    callId: z.string().max(256),
    decision: z.enum(['approved', 'rejected', 'expired']),
    /** Arguments a person edited (validated by the tool's schema before they were accepted). */
    arguments: text.optional(),
    reason: z.string().max(4096).optional(),
  }),
  z.strictObject({
    type: z.literal('status'),
    status: runStatusSchema,
    error: z.strictObject({ code: z.string().max(64), message: text }).optional(),
  }),
  z.strictObject({
    type: z.literal('finish'),
    text,
    steps: z.number().int().min(0),
    toolCalls: z.number().int().min(0),
  }),
]);
export type RunEventBody = z.output<typeof runEventBodySchema>;

/** A checkpoint entry as stored: its place in the run (1, 2, …) and when it was written. */
export const runEventSchema = z.strictObject({
  seq: z.number().int().min(1),
  at: time,
  body: runEventBodySchema,
});
export type RunEvent = z.output<typeof runEventSchema>;

/** A run's header: who runs what, where it is, and the figures so far. Small: messages live in its events. */
export const runRecordSchema = z.strictObject({
  id: z.string().regex(RUN_ID_PATTERN),
  tenant,
  agentId: name,
  definition: name,
  /** The definition's version when the run started. */
  version: z.string().min(1).max(64),
  /** `provider/model` (or the model name) the run started with. */
  model: z.string().max(256).optional(),
  status: runStatusSchema,
  step: z.number().int().min(0),
  usage,
  /** The last event's `seq`: the run's checkpoint number, for optimistic appends. */
  seq: z.number().int().min(0),
  /** The node running it (resumed by that node after a restart). */
  owner: z.string().max(128).optional(),
  createdAt: time,
  updatedAt: time,
  finishedAt: time.optional(),
  /** The final answer's text, for a completed run. */
  result: text.optional(),
  error: z.strictObject({ code: z.string().max(64), message: text }).optional(),
});
export type RunRecord = z.output<typeof runRecordSchema>;

/** What an append may change in a run's header. */
export type RunPatch = Partial<
  Pick<RunRecord, 'status' | 'step' | 'usage' | 'owner' | 'finishedAt' | 'result' | 'error'>
>;

export const approvalStatusSchema = z.enum(['pending', 'approved', 'rejected', 'expired']);
export type ApprovalStatus = z.output<typeof approvalStatusSchema>;

/** A person's decision on one tool call a run is waiting for. */
export const approvalRecordSchema = z.strictObject({
  id: z.string().regex(APPROVAL_ID_PATTERN),
  tenant,
  runId: z.string().regex(RUN_ID_PATTERN),
  agentId: name,
  callId: z.string().max(256),
  tool: z.string().max(64),
  /** The arguments the model wrote (JSON text). */
  arguments: text,
  reason: z.string().max(4096).optional(),
  /** `interrupted`: the call started before a crash; approving runs it again, rejecting skips it. Default `approval`. */
  kind: z.enum(['approval', 'interrupted']).optional(),
  /** The JSON Schema edited arguments must satisfy (the tool's parameters). */
  schema: z.record(z.string(), z.unknown()).optional(),
  status: approvalStatusSchema,
  requestedAt: time,
  /** When it expires unless decided; none: it waits for ever. */
  expiresAt: time.optional(),
  decidedAt: time.optional(),
  /** Edited arguments (JSON text) an approval carried. */
  decidedArguments: text.optional(),
  /** Why, for a rejection (the model is told). */
  decisionReason: z.string().max(4096).optional(),
});
export type ApprovalRecord = z.output<typeof approvalRecordSchema>;

/** A decision to record: approve (maybe with edited arguments), reject with a reason, or expire. */
export interface ApprovalDecision {
  status: Exclude<ApprovalStatus, 'pending'>;
  at: number;
  arguments?: string;
  reason?: string;
}

/** An agent's kept conversation: the summary of dropped turns and the turns kept (bounded by its owner). */
export const conversationSchema = z.strictObject({
  summary: text.optional(),
  messages: z.array(messageSchema).max(100_000),
});
export type Conversation = z.output<typeof conversationSchema>;

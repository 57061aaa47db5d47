import { resolve } from 'node:path';
import { InvalidOptionsError } from '../errors/index.ts';
import type { KnowledgeBase } from '../knowledge/index.ts';
import { compileCondition } from '../rules/index.ts';
import {
  type AgentMessenger,
  httpTool,
  knowledgeSearchTool,
  type McpToolSource,
  mcpTools,
  messageAgentTool,
  type Tool,
} from '../tools/index.ts';
import type { ToolSpec } from './agent-spec-schema.ts';

type ApprovalSpec = Extract<ToolSpec, { type: 'http' }>['approval'];

/** A tool with the spec's `approval` and `idempotent` applied (the tool's own when the spec says nothing). */
function withApproval(tool: Tool, approval: ApprovalSpec, idempotent: boolean | undefined): Tool {
  const needsApproval =
    approval === undefined || approval === 'never'
      ? approval === 'never'
        ? undefined
        : tool.needsApproval
      : approval === 'always'
        ? true
        : conditionApproval(approval);
  return { ...tool, needsApproval, idempotent: idempotent ?? tool.idempotent };
}

function conditionApproval(approval: {
  when: unknown;
  reason?: string;
}): (args: unknown) => boolean | string {
  const holds = compileCondition(approval.when as Parameters<typeof compileCondition>[0]);
  return (args) => (holds(args) ? (approval.reason ?? true) : false);
}

/** What the tools of a spec were built from, and the connections to close. */
export interface SpecTools {
  tools: Tool[];
  close(): Promise<void>;
}

/** What building a spec's tools needs from the node. */
export interface SpecToolDeps {
  knowledge?: Pick<KnowledgeBase, 'search'>;
  /** Default `k` and tenant of knowledge search (the spec's `knowledge` section). */
  knowledgeDefaults?: { k?: number; tenant?: string };
  /** Where message-agent tools send (the node's runtime). */
  messaging?: AgentMessenger;
  /** Relative MCP `cwd`s resolve against this folder. */
  baseDir?: string;
  signal?: AbortSignal;
}

/**
 * Builds the tools a spec declares: HTTP tools, knowledge search, messaging another agent,
 * and every tool of each MCP server (connected here; `close()` disconnects them).
 * @throws InvalidOptionsError when a tool needs something the node did not give (a knowledge base).
 */
export async function buildSpecTools(specs: readonly ToolSpec[], deps: SpecToolDeps): Promise<SpecTools> {
  const tools: Tool[] = [];
  const sources: McpToolSource[] = [];
  const close = async () => {
    await Promise.allSettled(sources.map((s) => s.close()));
  };
  try {
    for (const spec of specs) {
      if (spec.type === 'http') {
        tools.push(
          httpTool({
            name: spec.name,
            description: spec.description,
            url: spec.url,
            method: spec.method,
            headers: spec.headers,
            inputSchema: spec.parameters,
            timeoutMs: spec.timeoutMs,
            maxResponseBytes: spec.maxResponseBytes,
          }) as Tool,
        );
        // GET and HEAD read; other methods may change something, so they are not re-run unless the spec says so.
        const reads = spec.method === undefined || spec.method === 'GET' || spec.method === 'HEAD';
        tools.push(withApproval(tools.pop() as Tool, spec.approval, spec.idempotent ?? reads));
      } else if (spec.type === 'knowledge-search') {
        if (deps.knowledge === undefined)
          throw new InvalidOptionsError('a knowledge-search tool needs a knowledge base on the node');
        const k = spec.k ?? deps.knowledgeDefaults?.k ?? 4;
        tools.push(
          knowledgeSearchTool(deps.knowledge, {
            name: spec.name,
            description: spec.description,
            k,
            maxK: Math.max(10, k),
            tenant: deps.knowledgeDefaults?.tenant,
          }) as Tool,
        );
        tools.push({ ...(tools.pop() as Tool), idempotent: true }); // a search changes nothing
      } else if (spec.type === 'message-agent') {
        if (deps.messaging === undefined)
          throw new InvalidOptionsError('a message-agent tool needs messaging on the node');
        tools.push(
          messageAgentTool(deps.messaging, {
            name: spec.name,
            description: spec.description,
            agents: spec.agents,
            definitions: spec.definitions,
            maxHops: spec.maxHops,
            timeoutMs: spec.timeoutMs,
          }) as Tool,
        );
        tools.push(withApproval(tools.pop() as Tool, spec.approval, false));
      } else {
        const server =
          spec.command !== undefined
            ? {
                command: spec.command,
                args: spec.args,
                env: spec.env,
                cwd: spec.cwd === undefined ? undefined : resolve(deps.baseDir ?? '.', spec.cwd),
              }
            : { url: spec.url as string, headers: spec.headers };
        const source = await mcpTools(server, {
          prefix: spec.prefix,
          timeoutMs: spec.timeoutMs,
          signal: deps.signal,
        });
        sources.push(source);
        tools.push(...source.tools.map((t) => withApproval(t, spec.approval, spec.idempotent)));
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { tools, close };
}

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { z } from 'zod';
import { AbortedError, AgentfleetError, InvalidOptionsError, raceWithSignal } from '../errors/index.ts';
import type { Tool, ToolApproval } from './define.ts';

/** An MCP server to take tools from: a command spoken to over stdio, or a streamable HTTP endpoint. */
export type McpServer =
  | { command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { url: string; headers?: Record<string, string> };

export interface McpToolsOptions {
  /** Put before every tool name (`<prefix>_<name>`), to keep several servers' tools apart. */
  prefix?: string;
  /** Milliseconds a call may take (default: the tool runner's timeout applies). */
  timeoutMs?: number;
  /** Whether each call of these tools waits for a person's approval first. Default `false`. */
  needsApproval?: ToolApproval;
  signal?: AbortSignal;
}

/** Tools from one MCP server, and the connection they need. */
export interface McpToolSource {
  readonly tools: Tool[];
  close(): Promise<void>;
}

const UNSAFE = /[^A-Za-z0-9_-]/g;

/**
 * Connects to an MCP server and offers its tools as ordinary tools: the model sees each tool's
 * own JSON Schema, arguments are validated against it (converted to zod) before the call, and
 * a result flagged `isError` is a tool failure the model hears about. `MCP_FAILED` when the
 * server cannot be reached or listed.
 */
export async function mcpTools(server: McpServer, options: McpToolsOptions = {}): Promise<McpToolSource> {
  // Loaded on first use: most agents never touch MCP, and the SDK is large.
  const [{ Client }, { StdioClientTransport }, { StreamableHTTPClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]);
  const transport =
    'url' in server
      ? new StreamableHTTPClientTransport(new URL(server.url), {
          requestInit: { headers: server.headers ?? {} },
        })
      : 'command' in server
        ? new StdioClientTransport({
            command: server.command,
            args: server.args ?? [],
            stderr: 'ignore',
            ...(server.env === undefined ? {} : { env: server.env }),
            ...(server.cwd === undefined ? {} : { cwd: server.cwd }),
          })
        : undefined;
  if (transport === undefined)
    throw new InvalidOptionsError('An MCP server is { command, args? } or { url }.');
  const client = new Client({ name: 'agentfleet', version: '0.1.0' });
  const signal = options.signal;
  try {
    if (signal?.aborted) throw new AbortedError();
    await raceWithSignal(client.connect(transport), signal);
    const listed: Awaited<ReturnType<Client['listTools']>>['tools'] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, signal ? { signal } : {});
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const tools = listed.map((t) => toTool(client, t, options));
    return { tools, close: () => client.close() };
  } catch (error) {
    await client.close().catch(() => {});
    if (AgentfleetError.isInstance(error)) throw error;
    throw new AgentfleetError('MCP_FAILED', `Cannot use the MCP server: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function toTool(
  client: Client,
  listed: { name: string; description?: string | undefined; inputSchema: Record<string, unknown> },
  options: McpToolsOptions,
): Tool {
  const name = `${options.prefix === undefined ? '' : `${options.prefix}_`}${listed.name}`
    .replace(UNSAFE, '_')
    .slice(0, 64);
  let parameters: z.ZodType;
  try {
    parameters = z.fromJSONSchema(listed.inputSchema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    parameters = z.record(z.string(), z.unknown()); // the server validates what we cannot
  }
  return {
    name,
    description: listed.description ?? listed.name,
    parameters,
    spec: { name, description: listed.description ?? listed.name, parameters: listed.inputSchema },
    timeoutMs: options.timeoutMs,
    needsApproval: options.needsApproval === false ? undefined : options.needsApproval,
    // An MCP server's tools are someone else's: never assume a call may run twice.
    idempotent: false,
    execute: async (args, { signal }) => {
      const result = await client.callTool(
        { name: listed.name, arguments: args as Record<string, unknown> },
        undefined,
        {
          signal,
          ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
        },
      );
      const text = contentText(result.content);
      if (result.isError === true) throw new Error(text || 'the MCP tool reported an error');
      return result.structuredContent ?? text;
    },
  };
}

function contentText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: string }) =>
      part?.type === 'text' ? (part.text ?? '') : `[${part?.type ?? 'unknown'} content]`,
    )
    .join('\n');
}

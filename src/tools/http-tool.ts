import type { z } from 'zod';
import { InvalidOptionsError } from '../errors/index.ts';
import { defineTool, type Tool, type ToolContext } from './define.ts';
import { HttpToolError } from './errors.ts';
import { type JsonObject, type JsonSchema, jsonSchemaTool } from './json-schema-tool.ts';

/** What an `httpTool` call returns to the model. */
export interface HttpToolResult {
  status: number;
  /** Parsed JSON for a JSON response, else the text; `null` for an empty body. */
  body: unknown;
  /** Present when the body was longer than `maxResponseBytes` and was cut (then `body` is text). */
  truncated?: true;
}

export interface HttpToolOptions {
  name: string;
  description: string;
  /** The arguments as a JSON Schema (spec files). Give this or `parameters`. */
  inputSchema?: JsonSchema;
  /** The arguments as a zod object schema. Give this or `inputSchema`. */
  parameters?: z.ZodType;
  /** Default `GET`. */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /**
   * An http(s) URL; `{arg}` placeholders are replaced by that (required, scalar) argument,
   * URL-encoded. Placeholders may not stand in the scheme, host or port: the model cannot
   * choose where the request goes. Arguments not in the URL go in a JSON body (POST, PUT,
   * PATCH) or in the query string (GET, HEAD, DELETE).
   */
  url: string;
  /** Sent with every call; secrets (from env) are resolved by the caller. Never shown to the model. */
  headers?: Record<string, string>;
  /** Milliseconds a call may take (the runner aborts the request then). Default 10,000. */
  timeoutMs?: number;
  /** Bytes of response body read at most. Default 1 MiB (1,048,576). */
  maxResponseBytes?: number;
  /** What a longer body does: cut, with `truncated: true` (default), or fail with `TOOL_HTTP_TOO_LARGE`. */
  onTooLarge?: 'truncate' | 'error';
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const FIXED_ORIGIN = /^https?:\/\/[^/?#{}]+[/?#]/;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const MESSAGE_BYTES = 2048;

/**
 * A tool that calls one HTTP endpoint with the model's validated arguments. A non-2xx answer
 * fails as `TOOL_HTTP_STATUS` (its status and the start of its body reach the model), a body
 * over `maxResponseBytes` is cut or fails as `TOOL_HTTP_TOO_LARGE`, a request that gets no
 * answer fails as `TOOL_HTTP_FAILED`; redirects are not followed (a 3xx is a `TOOL_HTTP_STATUS`),
 * so requests stay on the configured origin. The tool's signal aborts the request.
 * @throws InvalidOptionsError for a bad URL template, method, limit or schema.
 */
export function httpTool(options: HttpToolOptions): Tool<z.ZodType, HttpToolResult> {
  const method = options.method ?? 'GET';
  if (!['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
    throw new InvalidOptionsError(`httpTool ${options.name}: unknown method ${JSON.stringify(method)}.`);
  }
  const maxBytes = options.maxResponseBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new InvalidOptionsError(`httpTool ${options.name}: maxResponseBytes must be a positive integer.`);
  }
  const headers = new Headers(options.headers ?? {}); // throws on a malformed header
  const template = String(options.url);
  const placeholders = [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
  const first = template.indexOf('{');
  if (!FIXED_ORIGIN.test(first === -1 ? `${template}/` : template.slice(0, first))) {
    throw new InvalidOptionsError(
      `httpTool ${options.name}: url must be http(s) with a fixed host; placeholders only after it. Got ${template}.`,
    );
  }
  const execute = (args: JsonObject, context: ToolContext) =>
    call(method, template, placeholders, args, headers, maxBytes, options.onTooLarge ?? 'truncate', context);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const common = { name: options.name, description: options.description, timeoutMs };
  const tool: Tool<z.ZodType, HttpToolResult> =
    options.inputSchema !== undefined && options.parameters === undefined
      ? jsonSchemaTool({ ...common, inputSchema: options.inputSchema, execute })
      : options.parameters !== undefined && options.inputSchema === undefined
        ? defineTool({
            ...common,
            parameters: options.parameters,
            execute: (args, context) => execute(args as JsonObject, context),
          })
        : (() => {
            throw new InvalidOptionsError(
              `httpTool ${options.name}: give inputSchema or parameters, not both.`,
            );
          })();
  const required = new Set((tool.spec.parameters.required as string[] | undefined) ?? []);
  for (const name of placeholders) {
    if (!required.has(name)) {
      throw new InvalidOptionsError(
        `httpTool ${options.name}: the URL placeholder {${name}} must be a required argument.`,
      );
    }
  }
  return tool;
}

async function call(
  method: string,
  template: string,
  placeholders: readonly string[],
  args: JsonObject,
  headers: Headers,
  maxBytes: number,
  onTooLarge: 'truncate' | 'error',
  { signal }: ToolContext,
): Promise<HttpToolResult> {
  const url = new URL(
    template.replace(PLACEHOLDER, (_whole, name: string) => encodeURIComponent(scalar(name, args[name]))),
  );
  const rest = Object.entries(args).filter(([name]) => !placeholders.includes(name));
  let body: string | undefined;
  const sent = new Headers(headers);
  if (BODY_METHODS.has(method)) {
    body = JSON.stringify(Object.fromEntries(rest));
    sent.set('content-type', 'application/json');
  } else {
    for (const [name, value] of rest) {
      for (const item of Array.isArray(value) ? value : [value])
        url.searchParams.append(name, scalar(name, item));
    }
  }
  if (!sent.has('accept')) sent.set('accept', 'application/json, text/*;q=0.9, */*;q=0.5');
  let response: Response;
  try {
    response = await fetch(url, { method, headers: sent, body, signal, redirect: 'manual' });
  } catch (error) {
    if (signal.aborted) throw error;
    const why = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new HttpToolError(
      'TOOL_HTTP_FAILED',
      `${method} ${url.origin}${url.pathname} got no answer: ${why}`,
      {
        url: `${url.origin}${url.pathname}`,
      },
    );
  }
  if (response.status < 200 || response.status > 299) {
    const { text } = await readLimited(response, MESSAGE_BYTES);
    throw new HttpToolError(
      'TOOL_HTTP_STATUS',
      `${method} ${url.origin}${url.pathname} answered ${response.status}${text === '' ? '' : `: ${text}`}`,
      { status: response.status },
    );
  }
  const declared = Number(response.headers.get('content-length'));
  if (onTooLarge === 'error' && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(declared, maxBytes);
  }
  const { text, truncated, bytes } = await readLimited(response, maxBytes);
  if (truncated) {
    if (onTooLarge === 'error') throw tooLarge(bytes, maxBytes);
    return { status: response.status, body: `${text}\n…[truncated at ${maxBytes} bytes]`, truncated: true };
  }
  if (text === '') return { status: response.status, body: null };
  if (/\bjson\b/i.test(response.headers.get('content-type') ?? '')) {
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      // a server that says JSON and sends something else: the model gets the text
    }
  }
  return { status: response.status, body: text };
}

function scalar(name: string, value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  throw new Error(`The argument ${name} must be a string, number or boolean to go in the URL.`);
}

function tooLarge(bytes: number, maxBytes: number): HttpToolError {
  return new HttpToolError(
    'TOOL_HTTP_TOO_LARGE',
    `The response is larger than ${maxBytes} bytes (at least ${bytes}); ask for less.`,
    { maxBytes },
  );
}

/** Reads at most `maxBytes` of the body, cancelling the rest. */
async function readLimited(
  response: Response,
  maxBytes: number,
): Promise<{ text: string; truncated: boolean; bytes: number }> {
  if (response.body === null) return { text: '', truncated: false, bytes: 0 };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode(), truncated: false, bytes };
      if (bytes + value.byteLength > maxBytes) {
        text += decoder.decode(value.subarray(0, maxBytes - bytes));
        return { text, truncated: true, bytes: bytes + value.byteLength };
      }
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

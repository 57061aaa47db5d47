/**
 * One part of a streamed bus request, published on the request's `stream` subject: each
 * progress event the agent emits (`onEvent`), then exactly one `result` or `error`.
 */
export type StreamPart =
  | { type: 'event'; event: unknown }
  | { type: 'result'; output: unknown }
  | { type: 'error'; error: { code: string; message: string } };

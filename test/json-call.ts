// One JSON call to a test server, for the HTTP tests: method, path, an Authorization header
// and an optional JSON body; the answer's status and parsed body.

/** What a call answered: its status and its body as JSON (undefined when empty). */
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
export type JsonAnswer = { status: number; body: any };

/** A `call(method, path, authorization, body?)` against the server at `base()` (read at each call). */
export function jsonCaller(base: () => string) {
  return async (method: string, path: string, authorization: string, body?: unknown): Promise<JsonAnswer> => {
    const res = await fetch(`${base()}${path}`, {
      method,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

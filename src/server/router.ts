import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http-errors.ts';

/** Path parameters (`:id`) and the raw query string of a matched request. */
export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => unknown;

/**
 * Who may call a route: anyone (`public`); anyone, but a key when sent is checked and the
 * request runs as its tenant (`optional`); a tenant key or the admin (`tenant`); the admin key only.
 */
export type RouteAccess = 'public' | 'optional' | 'tenant' | 'admin';

/** A matched route. */
export interface RouteMatch {
  /** The route's pattern (`/v1/agents/:id`): a low-cardinality name for spans and logs. */
  pattern: string;
  handler: RouteHandler;
  access: RouteAccess;
  ctx: RouteContext;
}

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
  access: RouteAccess;
}

/**
 * A small exact-segment router. Hand-written because `/act` must stay within 0.9× of bare
 * node:http and measures 0.88–0.93× with this router (bench/act-http.bench.ts): there is no
 * room left for a framework adapter's per-request Web `Request`/`Response` objects.
 */
export class Router {
  readonly #routes: Route[] = [];
  readonly #exact = new Map<string, { handler: RouteHandler; access: RouteAccess; pattern: string }>();
  static readonly #emptyQuery = new URLSearchParams();

  /** Adds a route; `:name` segments capture a parameter. Routes are for tenants unless `access` says otherwise. */
  add(method: string, pattern: string, handler: RouteHandler, access: RouteAccess = 'tenant'): this {
    const segments = pattern.split('/').filter(Boolean);
    if (segments.some((s) => s.startsWith(':'))) this.#routes.push({ method, segments, handler, access });
    else this.#exact.set(`${method} /${segments.join('/')}`, { handler, access, pattern });
    return this;
  }

  /**
   * Finds the handler for a request. `HEAD` is served by the `GET` route of a path that has
   * no `HEAD` route of its own (node:http then sends the headers without the body).
   * @throws HttpError NOT_FOUND for an unknown path, METHOD_NOT_ALLOWED (with `details.allow`,
   *   the path's methods) for a known path and wrong method.
   */
  match(method: string, url: string): RouteMatch {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? Router.#emptyQuery : new URLSearchParams(url.slice(q + 1));
    const found = this.#find(method, path, query);
    if (found !== undefined) return found;
    if (method === 'HEAD') {
      const get = this.#find('GET', path, query);
      if (get !== undefined) return get;
    }
    const allow = this.#methodsOf(path);
    if (allow.length > 0) {
      throw new HttpError(
        'METHOD_NOT_ALLOWED',
        `${method} is not allowed on ${path}; use ${allow.join(', ')}.`,
        {
          details: { allow },
        },
      );
    }
    throw new HttpError('NOT_FOUND', `No route for ${path}.`);
  }

  #find(method: string, path: string, query: URLSearchParams): RouteMatch | undefined {
    const exact = this.#exact.get(`${method} ${path}`);
    if (exact !== undefined)
      return {
        pattern: exact.pattern,
        handler: exact.handler,
        access: exact.access,
        ctx: { params: {}, query },
      };
    let parts: string[] | undefined;
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      parts ??= path.split('/').filter(Boolean);
      const params = matchSegments(route.segments, parts);
      if (params !== undefined)
        return {
          pattern: `/${route.segments.join('/')}`,
          handler: route.handler,
          access: route.access,
          ctx: { params, query },
        };
    }
    return undefined;
  }

  /** The methods routed on a path, `HEAD` included wherever `GET` is; empty for an unknown path. */
  #methodsOf(path: string): string[] {
    const methods = new Set<string>();
    for (const key of this.#exact.keys()) {
      const space = key.indexOf(' ');
      if (key.slice(space + 1) === path) methods.add(key.slice(0, space));
    }
    const parts = path.split('/').filter(Boolean);
    for (const route of this.#routes) {
      if (matchSegments(route.segments, parts) !== undefined) methods.add(route.method);
    }
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!;
    const actual = parts[i]!;
    if (expected.startsWith(':')) {
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (expected !== actual) return undefined;
  }
  return params;
}

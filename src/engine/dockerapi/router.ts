/**
 * A small table-driven router: each route is a method, a path pattern with `{name}`
 * segments and a handler. Patterns are matched in the order they were added.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** One request, as a handler sees it. */
export interface Call {
  req: IncomingMessage;
  /** Absent for requests that asked to upgrade the connection (see `hijack` in hijack.ts). */
  res?: ServerResponse;
  /** The connection and the bytes already read past the headers, for upgrade requests. */
  upgrade?: { socket: Duplex; head: Buffer; hijacked?: boolean };
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client speaks (from its path prefix). */
  version: string;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

export type Handler = (c: Call) => Promise<void>;

const escapeRe = (s: string) => s.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');

interface Route {
  method: string;
  re: RegExp;
  names: string[];
  handler: Handler;
}

/** Routes requests to handlers by method and path. */
export class Router {
  private readonly routes: Route[] = [];

  /** Adds a route; `pattern` is a path with `{name}` segments (a name matches one segment). */
  add(method: string, pattern: string, handler: Handler): this {
    const names: string[] = [];
    const source = pattern
      .split(/(\{\w+\})/)
      .map((part) => {
        const m = /^\{(\w+)\}$/.exec(part);
        if (!m) return escapeRe(part);
        names.push(m[1]!);
        return '([^/]+)';
      })
      .join('');
    this.routes.push({ method, re: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** Adds a route whose parameter, between `prefix` and `suffix`, may hold slashes (image names). */
  addGreedy(method: string, prefix: string, param: string, suffix: string, handler: Handler): this {
    this.routes.push({
      method,
      re: new RegExp(`^${escapeRe(prefix)}(.+?)${escapeRe(suffix)}$`),
      names: [param],
      handler,
    });
    return this;
  }

  /** The handler and parameters for a request, or why there is none. */
  match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | { error: 'not-found' | 'method' } {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      // HEAD is answered by the GET route (Node drops the body).
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
        pathMatched = true;
        continue;
      }
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1]!);
      });
      return { handler: r.handler, params };
    }
    return { error: pathMatched ? 'method' : 'not-found' };
  }
}

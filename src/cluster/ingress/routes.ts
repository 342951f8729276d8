/**
 * The routing table: which backend answers a request, from the host and path, over every
 * Ingress the built-in controller serves. Rules:
 * - Hosts are compared without case, port or trailing dot. A rule's host is exact
 *   (`a.example.com`), a wildcard (`*.example.com`: one more label, so not `example.com` and not
 *   `x.y.example.com`), or absent (any host). A request tries the exact host's paths, then the
 *   wildcard's, then those of rules without a host, then the default backend.
 * - Within a host the longest path wins; at equal length an Exact path beats a Prefix path;
 *   at equal everything the oldest Ingress wins (as ingress-nginx resolves clashes).
 * - Prefix matches by path element: `/foo` matches `/foo`, `/foo/` and `/foo/bar`, not
 *   `/foobar`; a trailing slash in the rule is ignored. Exact matches the path alone (the
 *   query is not part of it). ImplementationSpecific is read as Prefix.
 * - The default backend is the `spec.defaultBackend` of the oldest Ingress that has one.
 */
import type { KubeObject } from '../client/kube-client.js';
import { type RouteOptions, routeOptions } from './annotations.js';

/** A Service port an Ingress names, by port name or number. */
export interface BackendRef {
  namespace: string;
  service: string;
  port: { name: string } | { number: number };
}

/** What a request is handed to. */
export interface Route {
  /** `namespace/name` of the Ingress the rule belongs to. */
  ingress: string;
  backend: BackendRef;
  options: RouteOptions;
  /** The rule's host is among the Ingress's TLS hosts (for `ssl-redirect` of nginx). */
  tls: boolean;
}

/** Something wrong with an Ingress, to be told in an event; the rest of it still serves. */
export interface IngressProblem {
  ingress: KubeObject;
  reason: string;
  message: string;
}

interface PathRule {
  path: string;
  exact: boolean;
  route: Route;
}

/** A table as plain data, for another process (structured clone keeps its Maps). */
export interface RouteTableData {
  exact: Map<string, PathRule[]>;
  wildcard: Map<string, PathRule[]>;
  anyHost: PathRule[];
  fallback: Route | undefined;
}

/** A request's host as rules compare it: lower case, without port and trailing dot. */
export function normalizeHost(host: string | undefined): string {
  if (!host) return '';
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) h = h.slice(0, h.indexOf(']') + 1);
  else if (h.includes(':')) h = h.slice(0, h.indexOf(':'));
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** The path part of a request target (no query, no fragment). */
export function requestPath(url: string | undefined): string {
  if (!url) return '/';
  // The absolute form (`GET http://host/path`), which HTTP/1.1 servers must accept.
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  if (abs) url = url.slice(abs[0].length);
  const end = url.search(/[?#]/);
  const p = end === -1 ? url : url.slice(0, end);
  return p.startsWith('/') ? p : `/${p}`;
}

function matches(rule: PathRule, path: string): boolean {
  if (rule.exact) return path === rule.path;
  return rule.path === '/' || path === rule.path || path.startsWith(`${rule.path}/`);
}

/** The rules of one host layer, best first. */
function bestFirst(rules: PathRule[]): PathRule[] {
  // Array.prototype.sort is stable: among equals the order of insertion (oldest Ingress first) holds.
  return rules.sort((a, b) => b.path.length - a.path.length || Number(b.exact) - Number(a.exact));
}

export class RouteTable {
  constructor(
    private readonly exact: Map<string, PathRule[]>,
    private readonly wildcard: Map<string, PathRule[]>,
    private readonly anyHost: PathRule[],
    private readonly fallback: Route | undefined,
  ) {}

  /** The route for a request, or undefined (404). `host` and `path` are as the client sent them. */
  match(host: string | undefined, url: string | undefined): Route | undefined {
    const h = normalizeHost(host);
    const path = requestPath(url);
    const dot = h.indexOf('.');
    for (const layer of [
      this.exact.get(h),
      dot > 0 ? this.wildcard.get(h.slice(dot + 1)) : undefined,
      this.anyHost,
    ]) {
      if (!layer) continue;
      for (const r of layer) if (matches(r, path)) return r.route;
    }
    return this.fallback;
  }

  /** The table as data (RouteTable.from makes it a table again). */
  data(): RouteTableData {
    return { exact: this.exact, wildcard: this.wildcard, anyHost: this.anyHost, fallback: this.fallback };
  }

  static from(d: RouteTableData): RouteTable {
    return new RouteTable(d.exact, d.wildcard, d.anyHost, d.fallback);
  }

  /** Every backend a request can be routed to. */
  backends(): BackendRef[] {
    const out: BackendRef[] = [];
    for (const l of [...this.exact.values(), ...this.wildcard.values(), this.anyHost])
      for (const r of l) out.push(r.route.backend);
    if (this.fallback) out.push(this.fallback.backend);
    return out;
  }

  /** How many path rules the table holds (logged after each rebuild). */
  get size(): number {
    let n = this.anyHost.length;
    for (const l of [...this.exact.values(), ...this.wildcard.values()]) n += l.length;
    return n;
  }
}

/** Oldest first, then by namespace/name: the order that settles clashes. */
export function byAge(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

interface BackendSpec {
  service?: { name?: string; port?: { name?: string; number?: number } };
  resource?: unknown;
}

interface IngressRule {
  host?: string;
  http?: { paths?: { path?: string; pathType?: string; backend?: BackendSpec }[] };
}

/** The TLS hosts of an Ingress (lower case); `*` stands for a TLS entry that names no host. */
export function tlsHosts(ing: KubeObject): Set<string> {
  const out = new Set<string>();
  for (const t of (ing.spec?.tls ?? []) as { hosts?: string[] }[]) {
    if (!t.hosts?.length) out.add('*');
    for (const h of t.hosts ?? []) out.add(normalizeHost(h));
  }
  return out;
}

/**
 * Builds the table from the Ingresses to serve (already filtered by class), with a problem
 * for each part that cannot be served (a backend that is not a Service, a bad annotation).
 */
export function routeTable(served: readonly KubeObject[]): { table: RouteTable; problems: IngressProblem[] } {
  const exact = new Map<string, PathRule[]>();
  const wildcard = new Map<string, PathRule[]>();
  const anyHost: PathRule[] = [];
  const problems: IngressProblem[] = [];
  let fallback: Route | undefined;
  for (const ing of [...served].sort(byAge)) {
    const namespace = ing.metadata.namespace ?? 'default';
    const key = `${namespace}/${ing.metadata.name}`;
    const { options, problems: bad } = routeOptions(ing.metadata.annotations);
    for (const message of bad) problems.push({ ingress: ing, reason: 'BadAnnotation', message });
    const tls = tlsHosts(ing);
    const backendOf = (b: BackendSpec | undefined, where: string): BackendRef | undefined => {
      const svc = b?.service;
      const port = svc?.port;
      if (svc?.name && port && (port.name || port.number !== undefined))
        return {
          namespace,
          service: svc.name,
          port: port.name ? { name: port.name } : { number: port.number as number },
        };
      problems.push({
        ingress: ing,
        reason: 'UnsupportedBackend',
        message: `${where} has no Service backend with a port (resource backends are not served)`,
      });
      return undefined;
    };
    const def = ing.spec?.defaultBackend as BackendSpec | undefined;
    if (def && !fallback) {
      const backend = backendOf(def, 'The default backend');
      if (backend) fallback = { ingress: key, backend, options, tls: tls.has('*') };
    }
    for (const rule of (ing.spec?.rules ?? []) as IngressRule[]) {
      const host = normalizeHost(rule.host);
      const layer = (() => {
        if (!host) return anyHost;
        const map = host.startsWith('*.') ? wildcard : exact;
        const k = host.startsWith('*.') ? host.slice(2) : host;
        const l = map.get(k) ?? [];
        map.set(k, l);
        return l;
      })();
      for (const p of rule.http?.paths ?? []) {
        const where = `The path ${p.path ?? '/'} of host ${rule.host ?? '*'}`;
        const backend = backendOf(p.backend, where);
        if (!backend) continue;
        const isExact = p.pathType === 'Exact';
        let path = p.path || '/';
        if (!path.startsWith('/')) path = `/${path}`;
        if (!isExact && path.length > 1) path = path.replace(/\/+$/, '') || '/';
        layer.push({
          path,
          exact: isExact,
          route: { ingress: key, backend, options, tls: tls.has(host) || tls.has('*') },
        });
      }
    }
  }
  for (const l of [...exact.values(), ...wildcard.values()]) bestFirst(l);
  bestFirst(anyHost);
  return { table: new RouteTable(exact, wildcard, anyHost, fallback), problems };
}

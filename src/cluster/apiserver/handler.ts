/**
 * The HTTP front of the API server: authentication, routing of /api and /apis paths to
 * the generic REST storage, watch streams, discovery, OpenAPI, health and version.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  aggregatedDiscovery,
  aggregatedMediaType,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openapiGroupVersion,
  openapiRoot,
} from '../api/discovery.js';
import { openapiV2, openapiV2Protobuf, openapiV2ProtobufType } from '../api/openapi-v2.js';
import type { ResourceInfo, ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/selectors.js';
import { ApiError, badRequest, notFoundError, statusFor } from '../api/status.js';
import type { Store } from '../store/store.js';
import type { AuditHooks } from './audit/auditor.js';
import type { AuditAttributes } from './audit/policy.js';
import type { Authenticator } from './auth.js';
import { type Attributes, type Authorizer, forbidden, type UserInfo } from './authz/attributes.js';
import type { RbacPolicy } from './authz/rbac.js';
import { impersonate, requestAttributes } from './authz/request.js';
import type { ComponentStatuses } from './component-status.js';
import type { BerthEndpoint } from './encryption/endpoint.js';
import { serveHealth } from './health.js';
import { send } from './http-io.js';
import type { MetricsApi } from './metrics-api.js';
import { boolParam } from './params.js';
import { serveResource } from './resource-verbs.js';
import type { RestStorage } from './rest.js';
import { jwks, openidConfiguration } from './service-account-token.js';
import { YamlDecoder } from './yaml-decode.js';

export interface HandlerDeps {
  registry: ResourceRegistry;
  rest: RestStorage;
  store: Store;
  authenticate: Authenticator;
  /** The ServiceAccount signing key, for TokenRequests. */
  serviceAccountKey: string;
  authorize: Authorizer;
  /** The RBAC policy, for rules reviews and the escalation check; absent, neither applies. */
  rbac?: RbacPolicy;
  serverAddress: string;
  ready: () => boolean;
  /** Told who asks for what, for the audit log (absent when auditing is off). */
  audit?: AuditHooks;
  /** Berth's own API below /berth/ (secrets encryption status and rotation). */
  berthEndpoint?: BerthEndpoint;
  /** metrics.k8s.io (NodeMetrics, PodMetrics), read from the nodes' agents. */
  metrics?: Pick<MetricsApi, 'get'>;
  /** v1 ComponentStatus, computed at each read. */
  componentStatuses?: Pick<ComponentStatuses, 'get'>;
  /**
   * Subresources served by something other than the store, by `plural/subresource`
   * (`pods/log`, `pods/exec`, ..., proxied to the pod's node): called with the object the path names.
   */
  connect?: Record<string, ConnectHandler>;
}

/** A subresource served by something other than the store, called with the object the path names. */
export type ConnectHandler = (
  obj: KubeObject,
  q: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
) => Promise<void>;

const version = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+berth',
  gitCommit: 'berth',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** The path's segments, %-decoded; a malformed escape is the client's error. */
function pathSegments(path: string): string[] {
  return path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw badRequest(`invalid URL escape in the path segment "${p}"`);
      }
    });
}

interface Route {
  r: ResourceInfo;
  namespace?: string;
  name?: string;
  sub?: string;
}

/** Resolves /api/v1/... or /apis/g/v/... below the group/version to a resource. */
function route(reg: ResourceRegistry, group: string, version: string, rest: string[]): Route | undefined {
  let namespace: string | undefined;
  let parts = rest;
  if (parts[0] === 'namespaces' && parts.length === 3 && (parts[2] === 'status' || parts[2] === 'finalize')) {
    const r = reg.get(group, version, 'namespaces');
    return r ? { r, name: parts[1] as string, sub: parts[2] as string } : undefined;
  }
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    namespace = parts[1];
    parts = parts.slice(2);
  } else if (parts[0] === 'namespaces' && parts.length <= 2) {
    const r = reg.get(group, version, 'namespaces');
    return r ? { r, ...(parts[1] ? { name: parts[1] } : {}) } : undefined;
  }
  const r = reg.get(group, version, parts[0] ?? '');
  if (!r) return undefined;
  if (namespace && r.kind === 'Namespace')
    return { r, name: namespace, ...(parts[0] ? { sub: parts[0] } : {}) };
  return {
    r,
    ...(namespace ? { namespace } : {}),
    ...(parts[1] ? { name: parts[1] } : {}),
    ...(parts[2] ? { sub: parts[2] } : {}),
  };
}

/** What the audit log records of a request: its authorization attributes and API version. */
function auditAttributes(a: Attributes, parts: string[]): AuditAttributes {
  if (!a.resourceRequest) return { user: a.user, verb: a.verb, path: a.path };
  return {
    user: a.user,
    verb: a.verb,
    path: a.path,
    resource: {
      group: a.apiGroup,
      version: (parts[0] === 'api' ? parts[1] : parts[2]) ?? '',
      resource: a.resource,
      ...(a.subresource ? { subresource: a.subresource } : {}),
      ...(a.namespace ? { namespace: a.namespace } : {}),
      ...(a.name ? { name: a.name } : {}),
    },
  };
}

/**
 * The user a request acts as and its path's segments, once it is authenticated and
 * authorized; undefined when a 401 was sent.
 */
async function admit(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  q: URLSearchParams,
): Promise<{ user: UserInfo; parts: string[] } | undefined> {
  const authenticated = await deps.authenticate(req);
  if (!authenticated) {
    send(res, 401, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    return undefined;
  }
  deps.audit?.attributes(req, {
    user: authenticated,
    verb: (req.method ?? '').toLowerCase(),
    path,
  });
  const parts = pathSegments(path);
  const user = impersonate(authenticated, req.headers, deps.authorize);
  const attrs = requestAttributes(user, req.method ?? 'GET', path, parts, q);
  const decision = deps.authorize.authorize(attrs);
  if (deps.audit) {
    deps.audit.attributes(req, {
      ...auditAttributes(attrs, parts),
      user: authenticated,
      ...(user !== authenticated ? { impersonatedUser: user } : {}),
    });
    deps.audit.annotate(
      req,
      'authorization.k8s.io/decision',
      decision.decision === 'allow' ? 'allow' : 'forbid',
    );
  }
  if (decision.decision !== 'allow') throw forbidden(attrs, decision.reason);
  return { user, parts };
}

/** Serves the paths outside /api/v1 and /apis/G/V (version, discovery roots, OpenAPI, OIDC); false for any other. */
async function serveNonResource(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  parts: string[],
  user: UserInfo,
): Promise<boolean> {
  const reg = deps.registry;
  if (path === '/version') {
    send(res, 200, version);
    return true;
  }
  if (parts[0] === 'berth' && (await deps.berthEndpoint?.(req, res, user, parts.slice(1)))) return true;
  let doc: unknown;
  if (path === '/.well-known/openid-configuration') doc = openidConfiguration(deps.serviceAccountKey);
  else if (path === '/openid/v1/jwks') doc = jwks(deps.serviceAccountKey);
  else if (
    (path === '/api' || path === '/apis') &&
    /as=APIGroupDiscoveryList/.test(req.headers.accept ?? '') &&
    /v=v2(;|,|$)/.test(req.headers.accept ?? '')
  ) {
    const text = JSON.stringify(aggregatedDiscovery(reg, path === '/api'));
    res.writeHead(200, {
      'Content-Type': aggregatedMediaType,
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
    return true;
  } else if (path === '/api') doc = apiVersions(deps.serverAddress);
  else if (path === '/apis') doc = apiGroupList(reg);
  else if (path === '/openapi/v3') doc = openapiRoot(reg);
  else if (parts[0] === 'openapi' && parts[1] === 'v3') {
    const [g, v] = parts[2] === 'api' ? ['', parts[3] ?? ''] : [parts[3] ?? '', parts[4] ?? ''];
    doc = openapiGroupVersion(reg, g, v);
    if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  } else if (path === '/openapi/v2') {
    // client-go's discovery asks for gnostic's protobuf; browsers and scripts get JSON.
    if ((req.headers.accept ?? '').includes(openapiV2ProtobufType)) {
      const bytes = openapiV2Protobuf(reg);
      // As kube-openapi answers it: Go's mime parser refuses the '@' of the asked-for type.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
      res.end(bytes);
      return true;
    }
    doc = openapiV2(reg);
  } else return false;
  send(res, 200, doc);
  return true;
}

/**
 * The group, version and the path below them of /api/v1/... and /apis/G/V/...; undefined
 * when the path named only a group or a group version, whose discovery document was sent.
 */
function groupVersionPath(
  reg: ResourceRegistry,
  res: ServerResponse,
  parts: string[],
): { group: string; ver: string; restParts: string[] } | undefined {
  let group: string;
  let ver: string;
  let restParts: string[];
  if (parts[0] === 'api' && parts[1]) {
    group = '';
    ver = parts[1];
    restParts = parts.slice(2);
  } else if (parts[0] === 'apis' && parts[1]) {
    if (!parts[2]) {
      const g = apiGroup(reg, parts[1]);
      if (!g) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      send(res, 200, g);
      return undefined;
    }
    group = parts[1];
    ver = parts[2];
    restParts = parts.slice(3);
  } else throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (restParts.length === 0) {
    const list = apiResourceList(reg, group, ver);
    if (!list) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    send(res, 200, list);
    return undefined;
  }
  return { group, ver, restParts };
}

/** Answers a request that failed as a Status (once nothing of the answer was sent). */
function fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
  // A body within the depth limit can still be too deep for a recursive step (a copy, an
  // encoding): that is the body's problem, said as such, not an internal error.
  const st =
    e instanceof RangeError && /call stack/.test(e.message)
      ? statusFor(badRequest('the object is nested too deeply to be processed'))
      : statusFor(e);
  if (st.code === 500)
    process.stderr.write(`apiserver: ${req.method} ${req.url}: ${(e as Error).stack ?? e}\n`);
  if (!res.headersSent) send(res, st.code, st);
  else res.end();
}

export function makeHandler(deps: HandlerDeps) {
  const reg = deps.registry;
  const yaml = new YamlDecoder();
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'https://x');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (serveHealth(path, url, res, deps.ready())) return;
      const q = url.searchParams;
      const admitted = await admit(deps, req, res, path, q);
      if (!admitted) return;
      const { user, parts } = admitted;
      // A path below /api/V or /apis/G is never one of those (most requests): no await for it.
      const resourcePath = (parts[0] === 'api' || parts[0] === 'apis') && parts.length > 1;
      if (!resourcePath && (await serveNonResource(deps, req, res, path, parts, user))) return;
      const gv = groupVersionPath(reg, res, parts);
      if (!gv) return;
      const rt = route(reg, gv.group, gv.ver, gv.restParts);
      if (!rt) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const { r, namespace, name, sub } = rt;
      const verb =
        req.method === 'GET'
          ? name
            ? 'get'
            : boolParam(q, 'watch')
              ? 'watch'
              : 'list'
          : (req.method ?? '').toLowerCase();
      await serveResource({ deps, yaml, req, res, url, q, user, r, namespace, name, sub, verb });
    } catch (e) {
      fail(req, res, e);
    }
  };
}

export { notFoundError };

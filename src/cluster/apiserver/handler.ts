/**
 * The HTTP front of the API server: authentication, routing of /api and /apis paths to
 * the generic REST storage, watch streams, discovery, OpenAPI, health and version.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { unlessNotFound } from '../../core/errors.js';
import { asVersion } from '../api/conversion.js';
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
import { jsonDepth, maxJsonDepth } from '../api/json-depth.js';
import { duplicateFields } from '../api/json-duplicates.js';
import { toJson } from '../api/json-stringify.js';
import { maxRequestBytes } from '../api/limits.js';
import { openapiV2, openapiV2Protobuf, openapiV2ProtobufType } from '../api/openapi-v2.js';
import { decodeProtobuf } from '../api/protobuf.js';
import { apiVersionOf, type ResourceInfo, type ResourceRegistry } from '../api/resources.js';
import { type KubeObject, labelSelectorText } from '../api/selectors.js';
import {
  ApiError,
  badRequest,
  methodNotAllowed,
  notFoundError,
  statusFor,
  successStatus,
} from '../api/status.js';
import { toTable } from '../api/table.js';
import type { Store } from '../store/store.js';
import { checkNodeTokenRequest } from './admission/node-restriction.js';
import type { AuditHooks } from './audit/auditor.js';
import type { AuditAttributes } from './audit/policy.js';
import type { Authenticator } from './auth.js';
import { type Attributes, type Authorizer, forbidden } from './authz/attributes.js';
import { escalationCheck } from './authz/escalation.js';
import type { RbacPolicy } from './authz/rbac.js';
import { impersonate, requestAttributes } from './authz/request.js';
import {
  type ComponentStatuses,
  type ComponentStatusList,
  componentStatusResource,
  componentStatusWarning,
} from './component-status.js';
import type { BerthEndpoint } from './encryption/endpoint.js';
import { evictPod } from './eviction.js';
import { serveHealth } from './health.js';
import type { MetricsApi } from './metrics-api.js';
import { boolParam, fieldValidationParam, intParam } from './params.js';
import { forward, podTarget, serviceTarget, splitSchemeNamePort } from './resource-proxy.js';
import type { RestStorage } from './rest.js';
import { answerReview, issueToken } from './reviews.js';
import { jwks, openidConfiguration } from './service-account-token.js';
import { duplicateFieldMessage, strictDecodingError } from './strict.js';
import { serveWatch } from './watch.js';
import { type Parsed, YamlDecoder } from './yaml-decode.js';

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

/** Connect subresources kubectl also POSTs to (its SPDY upgrade); the rest take only GET. */
const postConnect = new Set(['exec', 'attach', 'portforward']);

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

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = toJson(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > maxRequestBytes)
      throw new ApiError(
        413,
        'RequestEntityTooLarge',
        `Request entity too large: the body is over the limit of ${maxRequestBytes} bytes`,
      );
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

type BodyFormat = 'json' | 'yaml' | 'protobuf';

/** A request body's format from its Content-Type; none is JSON, as upstream takes it. */
function bodyFormat(contentType: string): BodyFormat {
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (media === '' || media === 'application/json') return 'json';
  if (media === 'application/yaml') return 'yaml';
  if (media === 'application/vnd.kubernetes.protobuf') return 'protobuf';
  throw new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format ("${media}") - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
  );
}

/** The body's value; a YAML body's repeated keys are described in `duplicates`. */
async function parseBody(buf: Buffer, format: BodyFormat, yaml: YamlDecoder): Promise<Parsed> {
  if (format === 'protobuf') return { value: decodeProtobuf(buf), duplicates: [] };
  const text = buf.toString('utf8');
  if (format === 'yaml') {
    try {
      return await yaml.parse(text);
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: yaml: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (jsonDepth(text) > maxJsonDepth)
    throw badRequest(`couldn't get version/kind; json parse error: exceeded max depth of ${maxJsonDepth}`);
  try {
    return { value: JSON.parse(text), duplicates: [] };
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Kubernetes keeps the warnings of one response to about 4 KB; a client may refuse larger headers. */
const maxWarningChars = 4096;
/** One `Warning` header value (RFC 7234: code 299, no agent, the text quoted). */
const warningHeader = (text: string) => `299 - "${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;

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

const patchTypes: Record<string, string> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

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

/** Scale subresource view of a workload. */
function toScale(o: KubeObject): object {
  const spec = (o.spec ?? {}) as { replicas?: number; selector?: unknown };
  const status = (o.status ?? {}) as { replicas?: number };
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata?.name,
      namespace: o.metadata?.namespace,
      uid: o.metadata?.uid,
      resourceVersion: o.metadata?.resourceVersion,
      creationTimestamp: o.metadata?.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: {
      replicas: status.replicas ?? 0,
      // The whole selector as upstream writes it (matchExpressions too), as `-o wide` prints it.
      selector: labelSelectorText(spec.selector),
    },
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

export function makeHandler(deps: HandlerDeps) {
  const { registry: reg, rest } = deps;
  /** A pod's or a service's proxy subresource: what follows `/proxy` goes to the target. */
  const proxyRequest = async (
    r: ResourceInfo,
    namespace: string | undefined,
    id: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
  ) => {
    const { scheme, name, port } = splitSchemeNamePort(id);
    const obj = await rest.get(r, namespace, name);
    const endpoints = reg.get('', 'v1', 'endpoints');
    const target =
      r.plural === 'pods'
        ? podTarget(obj, scheme, port)
        : serviceTarget(
            obj,
            endpoints ? await unlessNotFound(rest.get(endpoints, namespace, name)) : undefined,
            scheme,
            port,
          );
    const marker = `/${id}/proxy`;
    const at = url.pathname.indexOf(marker);
    const inner = at < 0 ? '/' : url.pathname.slice(at + marker.length) || '/';
    await forward(target, inner, url.search, req, res);
  };
  const yaml = new YamlDecoder();
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'https://x');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (serveHealth(path, url, res, deps.ready())) return;
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
        return;
      }
      deps.audit?.attributes(req, {
        user: authenticated,
        verb: (req.method ?? '').toLowerCase(),
        path,
      });
      const q = url.searchParams;
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
      if (path === '/version') return send(res, 200, version);
      if (parts[0] === 'berth' && (await deps.berthEndpoint?.(req, res, user, parts.slice(1)))) return;
      if (path === '/.well-known/openid-configuration') return send(res, 200, openidConfiguration());
      if (path === '/openid/v1/jwks') return send(res, 200, jwks(deps.serviceAccountKey));
      if (
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
        return;
      }
      if (path === '/api') return send(res, 200, apiVersions(deps.serverAddress));
      if (path === '/apis') return send(res, 200, apiGroupList(reg));
      if (path === '/openapi/v3') return send(res, 200, openapiRoot(reg));
      if (parts[0] === 'openapi' && parts[1] === 'v3') {
        const [g, v] = parts[2] === 'api' ? ['', parts[3] ?? ''] : [parts[3] ?? '', parts[4] ?? ''];
        const doc = openapiGroupVersion(reg, g, v);
        if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return send(res, 200, doc);
      }
      if (path === '/openapi/v2') {
        // client-go's discovery asks for gnostic's protobuf; browsers and scripts get JSON.
        if ((req.headers.accept ?? '').includes(openapiV2ProtobufType)) {
          const doc = openapiV2Protobuf(reg);
          // As kube-openapi answers it: Go's mime parser refuses the '@' of the asked-for type.
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': doc.length });
          res.end(doc);
          return;
        }
        return send(res, 200, openapiV2(reg));
      }
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
          return send(res, 200, g);
        }
        group = parts[1];
        ver = parts[2];
        restParts = parts.slice(3);
      } else throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (restParts.length === 0) {
        const list = apiResourceList(reg, group, ver);
        if (!list) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return send(res, 200, list);
      }
      const rt = route(reg, group, ver, restParts);
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
      if (r.group === 'metrics.k8s.io' && deps.metrics) {
        if (verb !== 'get' && verb !== 'list')
          throw methodNotAllowed('the server does not allow this method on the requested resource');
        return send(res, 200, await deps.metrics.get(r, namespace, name, q));
      }
      const accept = req.headers.accept ?? '';
      const asTable = /as=Table/.test(accept);
      if (r === componentStatusResource && deps.componentStatuses) {
        if (verb !== 'get' && verb !== 'list')
          throw methodNotAllowed('the server does not allow this method on the requested resource');
        res.setHeader('Warning', warningHeader(componentStatusWarning));
        const out = await deps.componentStatuses.get(name);
        const items =
          out.kind === 'ComponentStatusList' ? (out as ComponentStatusList).items : [out as KubeObject];
        return send(res, 200, asTable ? toTable(r, items, '') : out);
      }
      const withKind = (o: KubeObject) => asVersion(r, o);
      const validation = fieldValidationParam(q);
      const warnings: string[] = [];
      let warned = 0;
      const warn = (text: string) => {
        warned += text.length;
        if (warned > maxWarningChars) return;
        warnings.push(text);
        res.setHeader('Warning', warnings.map(warningHeader));
      };
      const writeOpts = {
        dryRun: q.getAll('dryRun').includes('All'),
        ...(q.get('fieldManager') ? { fieldManager: q.get('fieldManager') as string } : {}),
        fieldValidation: validation,
        onWarning: warn,
        onAuditAnnotation: (key: string, value: string) => deps.audit?.annotate(req, key, value),
        user,
        ...(sub ? { subresource: sub } : {}),
        ...(deps.rbac ? { admit: escalationCheck(r, namespace, user, deps.authorize, deps.rbac) } : {}),
      };
      /** Reads and decodes the body; keys given twice are refused (Strict) or warned of (Warn). */
      const readObject = async (format: BodyFormat): Promise<unknown> => {
        const buf = await readBody(req);
        const { value, duplicates } = await parseBody(buf, format, yaml);
        deps.audit?.requestObject(req, value);
        if (validation !== 'Ignore') {
          const dups =
            format === 'json' ? duplicateFields(buf.toString('utf8')).map(duplicateFieldMessage) : duplicates;
          if (dups.length && validation === 'Strict') throw strictDecodingError(r, dups);
          for (const d of dups) warn(d);
        }
        return value;
      };
      if (sub && !(r.subresources ?? []).includes(sub))
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');

      if (sub === 'proxy' && name && !r.group && (r.plural === 'pods' || r.plural === 'services'))
        return await proxyRequest(r, namespace, name, url, req, res);
      const connect = sub && name ? deps.connect?.[`${r.plural}/${sub}`] : undefined;
      if (connect) {
        if (req.method !== 'GET' && !(req.method === 'POST' && postConnect.has(sub as string)))
          throw methodNotAllowed('the server does not allow this method on the requested resource');
        return await connect(await rest.get(r, namespace, name as string), q, req, res);
      }
      if (r.virtual && req.method !== 'POST')
        throw methodNotAllowed('the server does not allow this method on the requested resource');
      switch (req.method) {
        case 'GET': {
          if (!name) {
            // Awaited here, so that an error before the stream starts is answered as a Status.
            if (verb === 'watch')
              return await serveWatch(req, res, deps.store, rest, r, namespace, q, asTable);
            const limit = intParam(q, 'limit');
            const list = await rest.list(r, namespace, {
              ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector') as string } : {}),
              ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector') as string } : {}),
              ...(limit !== undefined ? { limit } : {}),
              ...(q.get('continue') ? { continue: q.get('continue') as string } : {}),
              ...(q.get('resourceVersion') ? { resourceVersion: q.get('resourceVersion') as string } : {}),
              ...(q.get('resourceVersionMatch')
                ? { resourceVersionMatch: q.get('resourceVersionMatch') as string }
                : {}),
            });
            const rv = String(list.revision);
            if (asTable) {
              const t = toTable(r, list.items, rv, list.continue);
              if (q.get('includeObject') === 'Object')
                (t.rows as { object: unknown }[]).forEach((row, i) => {
                  row.object = list.items[i];
                });
              return send(res, 200, t);
            }
            return send(res, 200, {
              kind: `${r.kind}List`,
              apiVersion: apiVersionOf(r),
              metadata: {
                resourceVersion: rv,
                ...(list.continue ? { continue: list.continue } : {}),
                ...(list.remaining !== undefined ? { remainingItemCount: list.remaining } : {}),
              },
              items: list.items,
            });
          }
          const o = await rest.get(r, namespace, name);
          if (sub === 'scale') return send(res, 200, toScale(o));
          if (asTable && !sub) {
            const t = toTable(r, [withKind(o)], String(o.metadata?.resourceVersion));
            const row = (t.rows as { object: unknown }[])[0];
            if (q.get('includeObject') === 'Object' && row) row.object = withKind(o);
            return send(res, 200, t);
          }
          return send(res, 200, withKind(o));
        }
        case 'POST': {
          const body = (await readObject(bodyFormat(req.headers['content-type'] ?? ''))) as KubeObject;
          if (name && sub === 'binding') {
            const target = (body as { target?: { name?: string } }).target?.name;
            if (!target) throw badRequest('binding target name is required');
            await rest.patch(r, namespace, name, 'merge', { spec: { nodeName: target } }, {});
            return send(res, 201, successStatus());
          }
          if (name && namespace && sub === 'eviction') {
            await evictPod(rest, reg, r, namespace, name, body, writeOpts.dryRun);
            return send(res, 201, successStatus());
          }
          if (name && sub === 'token') {
            const boundUid = async (kind: 'Pod' | 'Secret', ns: string, n: string) => {
              const br = reg.get('', 'v1', kind === 'Pod' ? 'pods' : 'secrets') as ResourceInfo;
              return String((await rest.get(br, ns, n)).metadata?.uid ?? '');
            };
            await checkNodeTokenRequest(user, name, namespace ?? '', body as KubeObject, (ns, n) =>
              unlessNotFound(rest.get(reg.get('', 'v1', 'pods') as ResourceInfo, ns, n)),
            );
            return send(
              res,
              201,
              await issueToken(await rest.get(r, namespace, name), body, deps.serviceAccountKey, boundUid),
            );
          }
          if (r.virtual) {
            const reviewDeps = {
              authn: deps.authenticate,
              authz: deps.authorize,
              rulesFor: deps.rbac
                ? deps.rbac.rulesFor.bind(deps.rbac)
                : () => ({ rules: [], missing: ['RBAC is not enabled'] }),
            };
            return send(res, 201, await answerReview(r.kind, body, user, reviewDeps, namespace));
          }
          if (name) throw methodNotAllowed(`the server does not allow this method on the requested resource`);
          const created = await rest.create(r, namespace, body, writeOpts);
          return send(res, 201, withKind(created));
        }
        case 'PUT': {
          if (!name)
            throw methodNotAllowed('the server does not allow this method on the requested resource');
          const body = (await readObject(bodyFormat(req.headers['content-type'] ?? ''))) as KubeObject;
          if (sub === 'scale') {
            const replicas = (body as { spec?: { replicas?: number } }).spec?.replicas ?? 0;
            const o = await rest.patch(
              r,
              namespace,
              name,
              'merge',
              { spec: { replicas }, metadata: { resourceVersion: body.metadata?.resourceVersion } },
              {},
            );
            return send(res, 200, toScale(o));
          }
          return send(res, 200, withKind(await rest.update(r, namespace, name, body, writeOpts)));
        }
        case 'PATCH': {
          if (!name)
            throw methodNotAllowed('the server does not allow this method on the requested resource');
          const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
          const type = patchTypes[ct];
          if (!type)
            throw new ApiError(
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
            );
          const patch = await readObject(type === 'apply' ? 'yaml' : 'json');
          if (type === 'apply' && !writeOpts.fieldManager)
            throw badRequest('PATCH, application/apply-patch+yaml: fieldManager is required');
          if (sub === 'scale') {
            const cur = toScale(await rest.get(r, namespace, name));
            const { jsonPatch, mergePatch } = await import('../api/patch.js');
            const next = (type === 'json' ? jsonPatch(cur, patch) : mergePatch(cur, patch)) as {
              spec?: { replicas?: number };
            };
            const o = await rest.patch(
              r,
              namespace,
              name,
              'merge',
              { spec: { replicas: next.spec?.replicas ?? 0 } },
              {},
            );
            return send(res, 200, toScale(o));
          }
          const o = await rest.patch(r, namespace, name, type, patch, {
            ...writeOpts,
            force: boolParam(q, 'force'),
          });
          return send(res, 200, withKind(o));
        }
        case 'DELETE': {
          let opts: {
            preconditions?: { uid?: string; resourceVersion?: string };
            dryRun?: string[];
            propagationPolicy?: string;
            orphanDependents?: boolean;
            gracePeriodSeconds?: number;
          } = {};
          const buf = await readBody(req);
          if (buf.length)
            opts = (await parseBody(buf, bodyFormat(req.headers['content-type'] ?? ''), yaml))
              .value as typeof opts;
          const dry = writeOpts.dryRun || (opts.dryRun ?? []).includes('All');
          const policy =
            opts.propagationPolicy ??
            q.get('propagationPolicy') ??
            (opts.orphanDependents === true || boolParam(q, 'orphanDependents') ? 'Orphan' : undefined);
          if (policy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(policy))
            throw badRequest(
              `Invalid value: "${policy}": propagationPolicy must be one of Foreground, Background, Orphan`,
            );
          const propagation = policy as 'Foreground' | 'Background' | 'Orphan' | undefined;
          if (!name) {
            const list = await rest.list(r, namespace, {
              ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector') as string } : {}),
              ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector') as string } : {}),
            });
            const deleted: KubeObject[] = [];
            for (const o of list.items)
              deleted.push(
                await rest.delete(r, o.metadata?.namespace, o.metadata?.name ?? '', {
                  dryRun: dry,
                  ...(propagation ? { propagationPolicy: propagation } : {}),
                }),
              );
            return send(res, 200, {
              kind: `${r.kind}List`,
              apiVersion: apiVersionOf(r),
              metadata: {},
              items: deleted,
            });
          }
          const graceParam = opts.gracePeriodSeconds ?? q.get('gracePeriodSeconds') ?? undefined;
          const grace = graceParam === undefined || graceParam === null ? undefined : Number(graceParam);
          if (grace !== undefined && !Number.isFinite(grace))
            throw badRequest(`Invalid value: "${graceParam}": gracePeriodSeconds must be a number`);
          const o = await rest.delete(r, namespace, name, {
            dryRun: dry,
            ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
            ...(propagation ? { propagationPolicy: propagation } : {}),
            ...(opts.preconditions?.uid ? { preconditionUid: opts.preconditions.uid } : {}),
            ...(opts.preconditions?.resourceVersion
              ? { preconditionRV: opts.preconditions.resourceVersion }
              : {}),
          });
          if (o.metadata?.deletionTimestamp) return send(res, 202, withKind(o));
          return send(res, 200, withKind(o));
        }
        default:
          throw methodNotAllowed('the server does not allow this method on the requested resource');
      }
    } catch (e) {
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
  };
}

export { notFoundError };

/**
 * Serves a request on a resource's path (`/api/v1/...`, `/apis/GROUP/VERSION/...`) once it
 * is authenticated, authorized and routed: one function per method on the generic REST
 * storage, and the subresources served elsewhere (proxy, connect, metrics, component status).
 * Each method's work is a function of its own rather than one branch of the request handler:
 * V8 optimises a function whole, and the handler as one 17 KB function took 270 ms of
 * compiler time (then again after each deoptimisation) while a Deployment's pods started.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { unlessNotFound } from '../../core/errors.js';
import { asVersion } from '../api/conversion.js';
import { duplicateFieldsOf } from '../api/json-duplicates.js';
import { apiVersionOf, type ResourceInfo } from '../api/resources.js';
import { type KubeObject, labelSelectorText } from '../api/selectors.js';
import { ApiError, badRequest, methodNotAllowed, successStatus } from '../api/status.js';
import { toTable } from '../api/table.js';
import { checkNodeTokenRequest } from './admission/node-restriction.js';
import type { UserInfo } from './authz/attributes.js';
import { escalationCheck } from './authz/escalation.js';
import {
  type ComponentStatusList,
  componentStatusResource,
  componentStatusWarning,
} from './component-status.js';
import { evictPod } from './eviction.js';
import type { HandlerDeps } from './handler.js';
import { type BodyFormat, bodyFormat, parseBody, readBody, send } from './http-io.js';
import { localBody } from './local-transport.js';
import { boolParam, fieldValidationParam, intParam } from './params.js';
import { forward, podTarget, serviceTarget, splitSchemeNamePort } from './resource-proxy.js';
import { answerReview, issueToken } from './reviews.js';
import { duplicateFieldMessage, strictDecodingError } from './strict.js';
import { serveWatch } from './watch.js';
import type { YamlDecoder } from './yaml-decode.js';

/** A routed request on a resource: who asks, for which resource, object and subresource. */
export interface ResourceRequest {
  deps: HandlerDeps;
  yaml: YamlDecoder;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  q: URLSearchParams;
  user: UserInfo;
  r: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  sub: string | undefined;
  /** get, list, watch, or the method in lower case. */
  verb: string;
}

/** Connect subresources kubectl also POSTs to (its SPDY upgrade); the rest take only GET. */
const postConnect = new Set(['exec', 'attach', 'portforward']);

/** Kubernetes keeps the warnings of one response to about 4 KB; a client may refuse larger headers. */
const maxWarningChars = 4096;
/** One `Warning` header value (RFC 7234: code 299, no agent, the text quoted). */
const warningHeader = (text: string) => `299 - "${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;

const patchTypes: Record<string, string> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

const notAllowed = () => methodNotAllowed('the server does not allow this method on the requested resource');

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

/** A pod's or a service's proxy subresource: what follows `/proxy` goes to the target. */
async function proxyRequest(c: ResourceRequest, id: string): Promise<void> {
  const { deps, r, namespace } = c;
  const { scheme, name, port } = splitSchemeNamePort(id);
  const obj = await deps.rest.get(r, namespace, name);
  const endpoints = deps.registry.get('', 'v1', 'endpoints');
  const target =
    r.plural === 'pods'
      ? podTarget(obj, scheme, port)
      : serviceTarget(
          obj,
          endpoints ? await unlessNotFound(deps.rest.get(endpoints, namespace, name)) : undefined,
          scheme,
          port,
        );
  const marker = `/${id}/proxy`;
  const at = c.url.pathname.indexOf(marker);
  const inner = at < 0 ? '/' : c.url.pathname.slice(at + marker.length) || '/';
  await forward(target, inner, c.url.search, c.req, c.res);
}

/** What a method on the storage needs beyond the request: the options of a write, and warnings. */
interface Scope extends ResourceRequest {
  asTable: boolean;
  validation: 'Ignore' | 'Warn' | 'Strict';
  warn: (text: string) => void;
  writeOpts: ReturnType<typeof writeOptions>;
}

function writeOptions(
  c: ResourceRequest,
  validation: 'Ignore' | 'Warn' | 'Strict',
  warn: (text: string) => void,
) {
  const { deps, q, req, r, namespace, user, sub } = c;
  return {
    dryRun: q.getAll('dryRun').includes('All'),
    ...(q.get('fieldManager') ? { fieldManager: q.get('fieldManager') as string } : {}),
    fieldValidation: validation,
    onWarning: warn,
    onAuditAnnotation: (key: string, value: string) => deps.audit?.annotate(req, key, value),
    user,
    ...(sub ? { subresource: sub } : {}),
    ...(deps.rbac ? { admit: escalationCheck(r, namespace, user, deps.authorize, deps.rbac) } : {}),
  };
}

/** The object in the version the request named. */
const withKind = (s: Scope, o: KubeObject) => asVersion(s.r, o);

/** Reads and decodes the body; keys given twice are refused (Strict) or warned of (Warn). */
async function readObject(s: Scope, format: BodyFormat): Promise<unknown> {
  // A caller in this process hands over its body as an object: no text, so no repeated keys.
  const local = localBody(s.req);
  if (local && local.value !== undefined) {
    s.deps.audit?.requestObject(s.req, local.value);
    return local.value;
  }
  const buf = await readBody(s.req);
  const { value, duplicates } = await parseBody(buf, format, s.yaml);
  s.deps.audit?.requestObject(s.req, value);
  if (s.validation !== 'Ignore') {
    const dups =
      format === 'json'
        ? duplicateFieldsOf(buf.toString('utf8'), value).map(duplicateFieldMessage)
        : duplicates;
    if (dups.length && s.validation === 'Strict') throw strictDecodingError(s.r, dups);
    for (const d of dups) s.warn(d);
  }
  return value;
}

/** Serves the routed request `c`. */
export async function serveResource(c: ResourceRequest): Promise<void> {
  const { deps, req, res, q, r, namespace, name, sub, verb } = c;
  if (r.group === 'metrics.k8s.io' && deps.metrics) {
    if (verb !== 'get' && verb !== 'list') throw notAllowed();
    return send(res, 200, await deps.metrics.get(r, namespace, name, q));
  }
  const accept = req.headers.accept ?? '';
  const asTable = /as=Table/.test(accept);
  if (r === componentStatusResource && deps.componentStatuses) {
    if (verb !== 'get' && verb !== 'list') throw notAllowed();
    res.setHeader('Warning', warningHeader(componentStatusWarning));
    const out = await deps.componentStatuses.get(name);
    const items =
      out.kind === 'ComponentStatusList' ? (out as ComponentStatusList).items : [out as KubeObject];
    return send(res, 200, asTable ? toTable(r, items, '') : out);
  }
  const validation = fieldValidationParam(q);
  const warnings: string[] = [];
  let warned = 0;
  const warn = (text: string) => {
    warned += text.length;
    if (warned > maxWarningChars) return;
    warnings.push(text);
    res.setHeader('Warning', warnings.map(warningHeader));
  };
  const s: Scope = { ...c, asTable, validation, warn, writeOpts: writeOptions(c, validation, warn) };
  if (sub && !(r.subresources ?? []).includes(sub))
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');

  if (sub === 'proxy' && name && !r.group && (r.plural === 'pods' || r.plural === 'services'))
    return await proxyRequest(c, name);
  const connect = sub && name ? deps.connect?.[`${r.plural}/${sub}`] : undefined;
  if (connect) {
    if (req.method !== 'GET' && !(req.method === 'POST' && postConnect.has(sub as string)))
      throw notAllowed();
    return await connect(await deps.rest.get(r, namespace, name as string), q, req, res);
  }
  if (r.virtual && req.method !== 'POST') throw notAllowed();
  switch (req.method) {
    case 'GET':
      return name ? await serveGet(s, name) : await serveList(s);
    case 'POST':
      return await servePost(s);
    case 'PUT':
      if (!name) throw notAllowed();
      return await servePut(s, name);
    case 'PATCH':
      if (!name) throw notAllowed();
      return await servePatch(s, name);
    case 'DELETE':
      return await serveDelete(s);
    default:
      throw notAllowed();
  }
}

/** GET of a collection: a list, or a watch. */
async function serveList(s: Scope): Promise<void> {
  const { deps, req, res, q, r, namespace, verb, asTable } = s;
  // Awaited here, so that an error before the stream starts is answered as a Status.
  if (verb === 'watch') return await serveWatch(req, res, deps.store, deps.rest, r, namespace, q, asTable);
  const limit = intParam(q, 'limit');
  const list = await deps.rest.list(r, namespace, {
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

/** GET of one object (or its scale, or its table row). */
async function serveGet(s: Scope, name: string): Promise<void> {
  const { deps, res, q, r, namespace, sub, asTable } = s;
  const o = await deps.rest.get(r, namespace, name);
  if (sub === 'scale') return send(res, 200, toScale(o));
  if (asTable && !sub) {
    const t = toTable(r, [withKind(s, o)], String(o.metadata?.resourceVersion));
    const row = (t.rows as { object: unknown }[])[0];
    if (q.get('includeObject') === 'Object' && row) row.object = withKind(s, o);
    return send(res, 200, t);
  }
  return send(res, 200, withKind(s, o));
}

/** POST: a create, or a subresource that acts (binding, eviction, token), or a review. */
async function servePost(s: Scope): Promise<void> {
  const { deps, req, res, r, namespace, name, sub, user } = s;
  const { rest, registry: reg } = deps;
  const body = (await readObject(s, bodyFormat(req.headers['content-type'] ?? ''))) as KubeObject;
  if (name && sub === 'binding') {
    const target = (body as { target?: { name?: string } }).target?.name;
    if (!target) throw badRequest('binding target name is required');
    await rest.patch(r, namespace, name, 'merge', { spec: { nodeName: target } }, {});
    return send(res, 201, successStatus());
  }
  if (name && namespace && sub === 'eviction') {
    await evictPod(rest, reg, r, namespace, name, body, s.writeOpts.dryRun);
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
  if (name) throw notAllowed();
  const created = await rest.create(r, namespace, body, s.writeOpts);
  return send(res, 201, withKind(s, created));
}

/** PUT of one object, or of its scale. */
async function servePut(s: Scope, name: string): Promise<void> {
  const { deps, req, res, r, namespace, sub } = s;
  const body = (await readObject(s, bodyFormat(req.headers['content-type'] ?? ''))) as KubeObject;
  if (sub === 'scale') {
    const replicas = (body as { spec?: { replicas?: number } }).spec?.replicas ?? 0;
    const o = await deps.rest.patch(
      r,
      namespace,
      name,
      'merge',
      { spec: { replicas }, metadata: { resourceVersion: body.metadata?.resourceVersion } },
      {},
    );
    return send(res, 200, toScale(o));
  }
  return send(res, 200, withKind(s, await deps.rest.update(r, namespace, name, body, s.writeOpts)));
}

/** PATCH of one object (JSON, merge, strategic merge or apply), or of its scale. */
async function servePatch(s: Scope, name: string): Promise<void> {
  const { deps, req, res, q, r, namespace, sub } = s;
  const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const type = patchTypes[ct];
  if (!type)
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    );
  const patch = await readObject(s, type === 'apply' ? 'yaml' : 'json');
  if (type === 'apply' && !s.writeOpts.fieldManager)
    throw badRequest('PATCH, application/apply-patch+yaml: fieldManager is required');
  if (sub === 'scale') {
    const cur = toScale(await deps.rest.get(r, namespace, name));
    const { jsonPatch, mergePatch } = await import('../api/patch.js');
    const next = (type === 'json' ? jsonPatch(cur, patch) : mergePatch(cur, patch)) as {
      spec?: { replicas?: number };
    };
    const o = await deps.rest.patch(
      r,
      namespace,
      name,
      'merge',
      { spec: { replicas: next.spec?.replicas ?? 0 } },
      {},
    );
    return send(res, 200, toScale(o));
  }
  const o = await deps.rest.patch(r, namespace, name, type, patch, {
    ...s.writeOpts,
    force: boolParam(q, 'force'),
  });
  return send(res, 200, withKind(s, o));
}

/** DELETE of one object, or of a collection's (selected) objects. */
async function serveDelete(s: Scope): Promise<void> {
  const { deps, req, res, q, r, namespace, name } = s;
  const { rest } = deps;
  let opts: {
    preconditions?: { uid?: string; resourceVersion?: string };
    dryRun?: string[];
    propagationPolicy?: string;
    orphanDependents?: boolean;
    gracePeriodSeconds?: number;
  } = {};
  const local = localBody(req);
  if (local) opts = (local.value ?? {}) as typeof opts;
  else {
    const buf = await readBody(req);
    if (buf.length)
      opts = (await parseBody(buf, bodyFormat(req.headers['content-type'] ?? ''), s.yaml))
        .value as typeof opts;
  }
  const dry = s.writeOpts.dryRun || (opts.dryRun ?? []).includes('All');
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
    user: s.user,
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    ...(propagation ? { propagationPolicy: propagation } : {}),
    ...(opts.preconditions?.uid ? { preconditionUid: opts.preconditions.uid } : {}),
    ...(opts.preconditions?.resourceVersion ? { preconditionRV: opts.preconditions.resourceVersion } : {}),
  });
  if (o.metadata?.deletionTimestamp) return send(res, 202, withKind(s, o));
  return send(res, 200, withKind(s, o));
}

/**
 * Discovery documents (/api, /apis, /api/v1, /apis/<g>/<v>) and OpenAPI v3 documents, all
 * built from the resource registry. The OpenAPI documents are small: each kind has a schema
 * with its top-level fields and the `x-kubernetes-group-version-kind` marker, and each
 * resource's PATCH operation accepts `fieldValidation`, which makes kubectl validate on the
 * server (fieldValidation=Strict) instead of on the client.
 */
import { createHash } from 'node:crypto';
import { definitionName } from './k8s-catalogue.js';
import { apiVersionOf, type ResourceInfo, type ResourceRegistry } from './resources.js';
import { intOrStringSchema, kindType, openapiSchemaOf, referencedTypes } from './schema.js';

const verbsFor = (r: ResourceInfo) =>
  r.verbs ??
  (r.virtual
    ? ['create']
    : ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(reg: ResourceRegistry): object {
  const groups = [...reg.groups()].filter(([g]) => g !== '');
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

export function apiGroup(reg: ResourceRegistry, name: string): object | undefined {
  const versions = reg.groups().get(name);
  if (!versions) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
  };
}

/** The verbs a subresource serves, in both discovery formats. */
function subresourceVerbs(s: string): string[] {
  if (s === 'binding' || s === 'token' || s === 'eviction') return ['create'];
  if (s === 'finalize') return ['update'];
  return ['get', 'patch', 'update'];
}

/** The kind a subresource takes and answers: Scale, Binding, TokenRequest, Eviction, or the resource's own. */
function subresourceKind(r: ResourceInfo, s: string): { group: string; version: string; kind: string } {
  if (s === 'scale') return { group: 'autoscaling', version: 'v1', kind: 'Scale' };
  if (s === 'binding') return { group: '', version: 'v1', kind: 'Binding' };
  if (s === 'token') return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
  if (s === 'eviction') return { group: 'policy', version: 'v1', kind: 'Eviction' };
  return { group: r.group, version: r.version, kind: r.kind };
}

export function apiResourceList(reg: ResourceRegistry, group: string, version: string): object | undefined {
  const rs = reg.list().filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of rs) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsFor(r),
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
    });
    for (const s of r.subresources ?? []) {
      const { group: g, version: v, kind } = subresourceKind(r, s);
      resources.push({
        name: `${r.plural}/${s}`,
        singularName: '',
        namespaced: r.namespaced,
        kind,
        verbs: subresourceVerbs(s),
        ...(g !== r.group || v !== r.version ? { group: g, version: v } : {}),
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources,
  };
}

/** Field descriptions for `kubectl explain`, per kind: name -> [type, description]. */
const fieldDocs: Record<string, Record<string, [string, string]>> = {
  Pod: {
    spec: ['object', 'Specification of the desired behavior of the pod.'],
    status: ['object', 'Most recently observed status of the pod.'],
  },
  Deployment: {
    spec: ['object', 'Specification of the desired behavior of the Deployment.'],
    status: ['object', 'Most recently observed status of the Deployment.'],
  },
  ConfigMap: {
    data: [
      'object',
      "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
    ],
    binaryData: ['object', 'BinaryData contains the binary data.'],
    immutable: [
      'boolean',
      'Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated.',
    ],
  },
  Secret: {
    data: ['object', 'Data contains the secret data, base64 encoded.'],
    stringData: ['object', 'stringData allows specifying non-binary secret data in string form.'],
    type: ['string', 'Used to facilitate programmatic handling of secret data.'],
    immutable: [
      'boolean',
      'Immutable, if set to true, ensures that data stored in the Secret cannot be updated.',
    ],
  },
};

const modelOf = (r: ResourceInfo) => (r.custom ? undefined : kindType(r.group, r.version, r.kind));

const schemaName = (r: ResourceInfo) => {
  const model = modelOf(r);
  return model
    ? definitionName(model)
    : `io.k8s.api.${r.group ? r.group.split('.')[0] : 'core'}.${r.version}.${r.kind}`;
};

const typeRef = (t: string) => `#/components/schemas/${definitionName(t)}`;

function kindSchema(r: ResourceInfo): object {
  const model = modelOf(r);
  const described = model && openapiSchemaOf(model, typeRef);
  if (described)
    return {
      description: `${r.kind} is a Kubernetes resource served by Berth (${apiVersionOf(r)}).`,
      ...described,
      'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.kind, version: r.version }],
    };
  const props: Record<string, object> = {
    apiVersion: {
      type: 'string',
      description: 'APIVersion defines the versioned schema of this representation of an object.',
    },
    kind: {
      type: 'string',
      description: 'Kind is a string value representing the REST resource this object represents.',
    },
    metadata: {
      type: 'object',
      description: "Standard object's metadata.",
      'x-kubernetes-preserve-unknown-fields': true,
    },
  };
  const docs = fieldDocs[r.kind] ?? {
    spec: ['object', `Specification of the desired behavior of the ${r.kind}.`],
    status: ['object', `Most recently observed status of the ${r.kind}.`],
  };
  for (const [f, [type, description]] of Object.entries(docs))
    props[f] = {
      type,
      description,
      ...(type === 'object' ? { 'x-kubernetes-preserve-unknown-fields': true } : {}),
    };
  return {
    type: 'object',
    description: `${r.kind} is a ${r.custom ? 'custom' : 'Kubernetes'} resource served by Berth (${apiVersionOf(r)}).`,
    properties: props,
    'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.kind, version: r.version }],
  };
}

// Documents by group/version and the resources served in it: the built-in types' schemas are
// large (hundreds of types under a PodSpec) and the root hashes every document on each request.
const documents = new Map<string, object>();

/** One group/version's OpenAPI v3 document. */
export function openapiGroupVersion(
  reg: ResourceRegistry,
  group: string,
  version: string,
): object | undefined {
  const rs = reg.list().filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const key = JSON.stringify([group, version, rs.map((r) => [r.kind, r.plural, r.namespaced, r.custom])]);
  let doc = documents.get(key);
  if (!doc) {
    doc = buildGroupVersion(rs, group, version);
    // Custom resources come and go: keep the latest few hundred documents.
    if (documents.size >= 256) documents.clear();
    documents.set(key, doc);
  }
  return doc;
}

function buildGroupVersion(rs: ResourceInfo[], group: string, version: string): object {
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = { [definitionName('IntOrString')]: intOrStringSchema };
  const models = rs.map(modelOf).filter((m): m is string => Boolean(m));
  for (const t of referencedTypes(models)) {
    const sch = openapiSchemaOf(t, typeRef);
    if (sch) schemas[definitionName(t)] = sch;
  }
  for (const r of rs) {
    schemas[schemaName(r)] = kindSchema(r);
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const item = r.namespaced
      ? `${prefix}/namespaces/{namespace}/${r.plural}/{name}`
      : `${prefix}/${r.plural}/{name}`;
    const op = (verb: string) => ({
      operationId: `${verb}${r.kind}`,
      'x-kubernetes-action': verb,
      'x-kubernetes-group-version-kind': gvk,
      parameters: [
        { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
        { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
        { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
      ],
      responses: {
        '200': {
          description: 'OK',
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName(r)}` } } },
        },
      },
    });
    paths[item] = {
      get: { ...op('get'), parameters: [] },
      put: op('put'),
      patch: op('patch'),
      delete: op('delete'),
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Berth', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

// Each document's hash, kept as long as the document is (documents are cached and unchanged).
const hashes = new WeakMap<object, string>();

function hashOf(doc: object): string {
  let hash = hashes.get(doc);
  if (!hash) {
    hash = createHash('sha256').update(JSON.stringify(doc)).digest('hex').slice(0, 32).toUpperCase();
    hashes.set(doc, hash);
  }
  return hash;
}

/** The OpenAPI v3 root: one entry per group/version, with a hash so clients cache by content. */
export function openapiRoot(reg: ResourceRegistry): object {
  const paths: Record<string, object> = {};
  for (const [g, versions] of reg.groups()) {
    for (const v of versions) {
      const p = g ? `apis/${g}/${v}` : `api/${v}`;
      const hash = hashOf(openapiGroupVersion(reg, g, v) ?? {});
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
    }
  }
  return { paths };
}

/** The media type of aggregated discovery (v2), which kubectl 1.32 asks for first. */
export const aggregatedMediaType = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Aggregated discovery: every group's versions and resources in one document (core alone for /api). */
export function aggregatedDiscovery(reg: ResourceRegistry, core: boolean): object {
  const items: object[] = [];
  for (const [group, versions] of reg.groups()) {
    if ((group === '') !== core) continue;
    items.push({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((version) => ({
        version,
        freshness: 'Current',
        resources: reg
          .list()
          .filter((r) => r.group === group && r.version === version)
          .map((r) => ({
            resource: r.plural,
            responseKind: { group: r.group, version: r.version, kind: r.kind },
            scope: r.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: r.singular,
            verbs: verbsFor(r),
            ...(r.shortNames ? { shortNames: r.shortNames } : {}),
            ...(r.categories ? { categories: r.categories } : {}),
            ...(r.subresources?.length
              ? {
                  subresources: r.subresources.map((s) => ({
                    subresource: s,
                    responseKind: subresourceKind(r, s),
                    verbs: subresourceVerbs(s),
                  })),
                }
              : {}),
          })),
      })),
    });
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

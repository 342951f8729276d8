/**
 * The OpenAPI v2 document (/openapi/v2), made from the v3 documents of every served group
 * version (discovery.ts), so both carry the same schemas: definitions under `#/definitions/`,
 * a field that refers to another type as `{$ref, description}` (v2 has no allOf wrapper for
 * it), and each resource's item path with its operations and query parameters. Served as
 * JSON, or as the gnostic protobuf message kubectl's discovery client asks for
 * (openapi-v2-proto.ts).
 */
import { openapiGroupVersion } from './discovery.js';
import { encodeOpenapiV2 } from './openapi-v2-proto.js';
import type { ResourceRegistry } from './resources.js';

type Schema = Record<string, unknown>;

const v3Prefix = '#/components/schemas/';
const v2Ref = (r: string) => (r.startsWith(v3Prefix) ? `#/definitions/${r.slice(v3Prefix.length)}` : r);

/** A v3 schema as v2 writes it: refs under #/definitions/, `allOf: [ref]` as the ref itself. */
export function toV2Schema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toV2Schema);
  if (!s || typeof s !== 'object') return s;
  const o = s as Schema;
  const out: Schema = {};
  const allOf = o.allOf;
  if (Array.isArray(allOf) && allOf.length === 1 && typeof (allOf[0] as Schema)?.$ref === 'string') {
    for (const [k, v] of Object.entries(o)) if (k !== 'allOf') out[k] = toV2Schema(v);
    out.$ref = v2Ref((allOf[0] as Schema).$ref as string);
    return out;
  }
  for (const [k, v] of Object.entries(o)) {
    // v2 has no nullable; a property named so (a CRD schema's) is an object and stays.
    if (k === 'nullable' && typeof v === 'boolean') continue;
    out[k] = k === '$ref' && typeof v === 'string' ? v2Ref(v) : toV2Schema(v);
  }
  return out;
}

interface V3Operation {
  operationId?: string;
  'x-kubernetes-action'?: string;
  'x-kubernetes-group-version-kind'?: object;
  parameters?: { name: string; in: string; schema?: Schema }[];
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

function toV2Operation(op: V3Operation): object {
  return {
    ...(op.operationId ? { operationId: op.operationId } : {}),
    consumes: ['*/*'],
    produces: ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'],
    schemes: ['https'],
    parameters: (op.parameters ?? []).map((p) => ({
      name: p.name,
      in: p.in,
      ...(toV2Schema(p.schema ?? { type: 'string' }) as Schema),
    })),
    responses: Object.fromEntries(
      Object.entries(op.responses ?? {}).map(([code, r]) => {
        const schema = r.content?.['application/json']?.schema;
        return [
          code,
          { description: r.description ?? '', ...(schema ? { schema: toV2Schema(schema) } : {}) },
        ];
      }),
    ),
    ...(op['x-kubernetes-action'] ? { 'x-kubernetes-action': op['x-kubernetes-action'] } : {}),
    ...(op['x-kubernetes-group-version-kind']
      ? { 'x-kubernetes-group-version-kind': op['x-kubernetes-group-version-kind'] }
      : {}),
  };
}

// One document per set of served resources: it holds every built-in schema (megabytes).
const cache = new Map<string, object>();

/** The v2 document of everything served. */
export function openapiV2(reg: ResourceRegistry): object {
  const key = JSON.stringify(reg.list().map((r) => [r.group, r.version, r.kind, r.plural, r.namespaced]));
  let doc = cache.get(key);
  if (doc) return doc;
  const definitions: Record<string, unknown> = {};
  const paths: Record<string, unknown> = {};
  for (const [g, versions] of reg.groups()) {
    for (const v of versions) {
      const v3 = openapiGroupVersion(reg, g, v) as
        | {
            paths: Record<string, Record<string, V3Operation>>;
            components: { schemas: Record<string, unknown> };
          }
        | undefined;
      if (!v3) continue;
      for (const [name, s] of Object.entries(v3.components.schemas)) definitions[name] ??= toV2Schema(s);
      for (const [p, item] of Object.entries(v3.paths))
        paths[p] = Object.fromEntries(Object.entries(item).map(([verb, op]) => [verb, toV2Operation(op)]));
    }
  }
  doc = { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, definitions };
  if (cache.size >= 16) cache.clear();
  cache.set(key, doc);
  return doc;
}

/** The media type client-go's discovery asks /openapi/v2 for. */
export const openapiV2ProtobufType = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

const encoded = new WeakMap<object, Buffer>();

/** The v2 document as gnostic's protobuf message, encoded once per document. */
export function openapiV2Protobuf(reg: ResourceRegistry): Buffer {
  const doc = openapiV2(reg);
  let b = encoded.get(doc);
  if (!b) {
    b = encodeOpenapiV2(doc as Record<string, unknown>);
    encoded.set(doc, b);
  }
  return b;
}

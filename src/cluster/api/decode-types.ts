/**
 * The JSON type check that upstream's decoding into Go structs makes on every write, whatever
 * fieldValidation says: `replicas: "3"`, a ConfigMap value `enabled: true` or an env value
 * `value: 8080` are refused with encoding/json's wording
 * (`json: cannot unmarshal bool into Go struct field ConfigMap.data of type string`).
 * The schema (schema.ts) does not tell quantities from strings, and a quantity may be written
 * as a number (`cpu: 1`): a number is refused for a string only where no quantity can be,
 * the string maps below and plain string fields other than a quantity's.
 */
import { fieldTypeOf, isDescribed } from './schema.js';

/** Maps of strings that are never quantities, by `Type.field` (numbers and booleans refused). */
const stringMaps = new Set([
  'V1ObjectMeta.labels',
  'V1ObjectMeta.annotations',
  'V1ConfigMap.data',
  'V1ConfigMap.binaryData',
  'V1Secret.data',
  'V1Secret.stringData',
  'V1PodSpec.nodeSelector',
  'V1ServiceSpec.selector',
  'V1LabelSelector.matchLabels',
]);
/** String fields that hold a quantity, which may be written as a number. */
const quantityFields = new Set(['sizeLimit']);
/** Integer fields Go declares as int64; the others are int32. */
const int64Fields = new Set([
  'terminationGracePeriodSeconds',
  'activeDeadlineSeconds',
  'deletionGracePeriodSeconds',
  'generation',
  'observedGeneration',
  'runAsUser',
  'runAsGroup',
  'fsGroup',
  'supplementalGroups',
  'expirationSeconds',
  'ttlSecondsAfterFinished',
  'startingDeadlineSeconds',
  'tolerationSeconds',
  'revision',
]);

const jsonKind = (v: unknown): string =>
  Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v;

/** Go's name of a schema type, for the message: int32, string, v1.PodSpec, []v1.Container. */
function goType(t: string, field: string): string {
  if (t.startsWith('[]')) return `[]${goType(t.slice(2), field)}`;
  if (t.startsWith('{}')) return `map[string]${goType(t.slice(2), field)}`;
  switch (t) {
    case 'integer':
      return int64Fields.has(field) ? 'int64' : 'int32';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
    case 'map':
      return 'map[string]string';
    case 'IntOrString':
      return 'intstr.IntOrString';
    default:
      return `v1.${goStruct(t)}`;
  }
}

/** Go's struct name of a schema type: V1PodSpec, AppsV1DeploymentSpec -> PodSpec, DeploymentSpec. */
const goStruct = (t: string): string => t.replace(/^[A-Z][a-z]+V\d+|^V\d+(?:(?:alpha|beta)\d+)?/, '');

/** encoding/json's refusal of `v` for field `p` of schema type `owner`, declared as `type`. */
const unmarshalError = (v: unknown, owner: string, p: string, type: string): string => {
  const k = jsonKind(v);
  return `json: cannot unmarshal ${k === 'boolean' ? 'bool' : k} into Go struct field ${goStruct(owner)}.${p} of type ${type}`;
};

/** Whether `v` (not null) may decode into a field of schema type `t`. */
function fits(t: string, v: unknown, field: string): boolean {
  const k = jsonKind(v);
  if (t.startsWith('[]')) return k === 'array';
  if (t.startsWith('{}') || t === 'map') return k === 'object';
  switch (t) {
    case 'integer':
      return k === 'number' && Number.isInteger(v);
    case 'number':
      return k === 'number';
    case 'boolean':
      return k === 'boolean';
    case 'string':
      return k === 'string' || (quantityFields.has(field) && k === 'number');
    case 'IntOrString':
      return k === 'string' || (k === 'number' && Number.isInteger(v));
    case 'object':
      return true;
    default:
      return k === 'object' || !isDescribed(t);
  }
}

/**
 * The first value of `value` (an object of schema type `typeName`) that cannot decode into
 * its field, as encoding/json reports it; undefined when all fit. A kind's status is not
 * checked, as unknownFields leaves it.
 */
export function typeMismatch(typeName: string, value: unknown, path = ''): string | undefined {
  if (!isDescribed(typeName) || jsonKind(value) !== 'object') return undefined;
  for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
    if ((!path && field === 'status') || v === null) continue;
    const t = fieldTypeOf(typeName, field);
    if (!t) continue;
    const p = path ? `${path}.${field}` : field;
    const bad = mismatchIn(t, v, p, typeName, field);
    if (bad) return bad;
  }
  return undefined;
}

function mismatchIn(t: string, v: unknown, p: string, owner: string, field: string): string | undefined {
  if (!fits(t, v, field)) return unmarshalError(v, owner, p, goType(t, field));
  if (t === 'map' && stringMaps.has(`${owner}.${field}`))
    for (const item of Object.values(v as Record<string, unknown>))
      if (item !== null && typeof item !== 'string') return unmarshalError(item, owner, p, 'string');
  // A list's or a map's items, each of the element type.
  const of = t.startsWith('[]') || t.startsWith('{}') ? t.slice(2) : undefined;
  if (of !== undefined) {
    const items = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const item of items) {
      if (item === null) continue;
      const bad = mismatchIn(of, item, p, owner, field);
      if (bad) return bad;
    }
  } else if (isDescribed(t) && jsonKind(v) === 'object') return typeMismatch(t, v, p);
  return undefined;
}

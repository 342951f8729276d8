/**
 * What decoding a written object into upstream's Go structs finds, in one walk of it: the
 * first value of the wrong JSON type, and every field its type does not have.
 *
 * A wrong type is refused whatever fieldValidation says: `replicas: "3"`, a ConfigMap value
 * `enabled: true` or an env value `value: 8080` are refused with encoding/json's wording
 * (`json: cannot unmarshal bool into Go struct field ConfigMap.data of type string`).
 * The schema (schema.ts) does not tell quantities from strings, and a quantity may be written
 * as a number (`cpu: 1`): a number is refused for a string only where no quantity can be,
 * the string maps below and plain string fields other than a quantity's.
 *
 * Unknown fields (`spec.template.spec.containers[0].imagee`) are what fieldValidation decides
 * about: refused under Strict, else dropped, as decoding into Go types drops them.
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

/** What one walk of a written object found. */
export interface DecodeFindings {
  /** encoding/json's refusal of the first value (in the object's order) of the wrong type. */
  mismatch?: string;
  /** Paths of the fields the schema does not know, in the object's order. */
  unknown: string[];
}

/**
 * Walks `value`, an object of schema type `typeName`, once for both findings; with `prune`,
 * unknown fields are also deleted from it. A kind's status is left as it is: controllers
 * write it, and the schema's fallback table does not describe it.
 */
export function decodeFindings(typeName: string, value: unknown, prune = false): DecodeFindings {
  const found: DecodeFindings = { unknown: [] };
  walkStruct(typeName, value, { goPath: '', path: '' }, prune, found);
  return found;
}

/**
 * Where a value sits: `goPath` as encoding/json names a field (`spec.containers.env.value`,
 * no indices or keys), `path` as an unknown field is named (`spec.containers[0].env[1].value`).
 */
interface At {
  goPath: string;
  path: string;
}

function walkStruct(typeName: string, value: unknown, at: At, prune: boolean, found: DecodeFindings): void {
  if (!isDescribed(typeName) || jsonKind(value) !== 'object') return;
  const o = value as Record<string, unknown>;
  for (const [field, v] of Object.entries(o)) {
    if (!at.path && field === 'status') continue;
    const path = at.path ? `${at.path}.${field}` : field;
    const t = fieldTypeOf(typeName, field);
    if (!t) {
      found.unknown.push(path);
      if (prune) delete o[field];
      continue;
    }
    if (v === null) continue;
    const goPath = at.goPath ? `${at.goPath}.${field}` : field;
    walkField(t, v, { goPath, path }, typeName, field, prune, found);
  }
}

/** A value (not null) of field `field` of struct `owner`, declared of schema type `t`. */
function walkField(
  t: string,
  v: unknown,
  at: At,
  owner: string,
  field: string,
  prune: boolean,
  found: DecodeFindings,
): void {
  if (!fits(t, v, field)) {
    found.mismatch ??= unmarshalError(v, owner, at.goPath, goType(t, field));
    return;
  }
  if (t === 'map' && stringMaps.has(`${owner}.${field}`)) {
    const bad = Object.values(v as Record<string, unknown>).find(
      (item) => item !== null && typeof item !== 'string',
    );
    if (bad !== undefined) found.mismatch ??= unmarshalError(bad, owner, at.goPath, 'string');
    return;
  }
  // A list's or a map's items, each of the element type.
  const of = t.slice(2);
  if (t.startsWith('[]'))
    (v as unknown[]).forEach((item, i) => {
      if (item !== null) walkField(of, item, { ...at, path: `${at.path}[${i}]` }, owner, field, prune, found);
    });
  else if (t.startsWith('{}'))
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      if (item !== null) walkField(of, item, { ...at, path: `${at.path}.${k}` }, owner, field, prune, found);
    }
  else walkStruct(t, v, at, prune, found);
}

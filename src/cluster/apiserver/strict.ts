/**
 * Field validation: under fieldValidation=Strict unknown (and duplicate) fields are an error;
 * otherwise unknown fields are dropped, with a warning under Warn (the default). Checked at the top level and in
 * metadata for every kind (the schema below lists each kind's top-level fields); custom
 * resources accept any top-level field their CRD allows, so only metadata is checked.
 */

import { typeMismatch } from '../api/decode-types.js';
import type { ResourceInfo } from '../api/resources.js';
import { kindType, unknownFields } from '../api/schema.js';
import type { KubeObject } from '../api/selectors.js';
import { type ApiError, badRequest } from '../api/status.js';

const metaFields = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const base = ['apiVersion', 'kind', 'metadata'];
const topFields: Record<string, string[]> = {
  ConfigMap: ['data', 'binaryData', 'immutable'],
  Secret: ['data', 'stringData', 'type', 'immutable'],
  ServiceAccount: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  Endpoints: ['subsets'],
  Event: [
    'involvedObject',
    'reason',
    'message',
    'source',
    'firstTimestamp',
    'lastTimestamp',
    'count',
    'type',
    'eventTime',
    'series',
    'action',
    'related',
    'reportingComponent',
    'reportingInstance',
  ],
  ControllerRevision: ['data', 'revision'],
  EndpointSlice: ['addressType', 'endpoints', 'ports'],
  IngressClass: ['spec'],
  StorageClass: [
    'provisioner',
    'parameters',
    'reclaimPolicy',
    'mountOptions',
    'allowVolumeExpansion',
    'volumeBindingMode',
    'allowedTopologies',
  ],
};

/**
 * The paths of the fields of `o` its kind does not have (`spec.foo`, `metadata.bar`); with
 * `prune`, they are deleted from `o` too.
 */
export function unknownFieldsOf(r: ResourceInfo, o: KubeObject, prune = false): string[] {
  const unknown: string[] = [];
  const drop = (obj: Record<string, unknown>, k: string, path: string) => {
    unknown.push(path);
    if (prune) delete obj[k];
  };
  const described = r.custom ? undefined : kindType(r.group, r.version, r.kind);
  if (described) unknown.push(...unknownFields(described, o, '', prune));
  else if (!r.custom) {
    const allowed = new Set([...base, ...(topFields[r.kind] ?? ['spec', 'status'])]);
    for (const k of Object.keys(o)) if (!allowed.has(k)) drop(o, k, k);
  }
  if (!described && o.metadata)
    for (const k of Object.keys(o.metadata)) if (!metaFields.has(k)) drop(o.metadata, k, `metadata.${k}`);
  return unknown;
}

/** 400 BadRequest with Kubernetes' "strict decoding error" wording, listing each problem. */
export function strictDecodingError(r: ResourceInfo, problems: string[]): ApiError {
  return badRequest(
    `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${problems.join(', ')}`,
  );
}

export const unknownFieldMessage = (path: string) => `unknown field "${path}"`;
export const duplicateFieldMessage = (path: string) => `duplicate field "${path}"`;

/**
 * Throws upstream's decoding error when a field of `o` has the wrong JSON type (a string for
 * an integer, a boolean in a ConfigMap's data): refused under every fieldValidation, as
 * decoding into Go types refuses it.
 */
export function checkTypes(r: ResourceInfo, o: KubeObject): void {
  const described = r.custom ? undefined : kindType(r.group, r.version, r.kind);
  const problem = described && typeMismatch(described, o);
  if (problem)
    throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${problem}`);
}

/** Throws the strict decoding error when `o` has fields its kind does not. */
export function checkStrict(r: ResourceInfo, o: KubeObject): void {
  const unknown = unknownFieldsOf(r, o);
  if (unknown.length) throw strictDecodingError(r, unknown.map(unknownFieldMessage));
}

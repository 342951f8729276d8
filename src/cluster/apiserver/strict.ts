/**
 * Decoding a write: a field of the wrong JSON type is refused under every fieldValidation;
 * under fieldValidation=Strict unknown (and duplicate) fields are an error, otherwise unknown
 * fields are dropped, with a warning under Warn (the default). A kind the schema describes is
 * checked all through (decode-types.ts); the others at the top level (the table below lists
 * their top-level fields) and in metadata; custom resources accept any top-level field their
 * CRD allows, so only metadata is checked.
 */

import { type DecodeFindings, decodeFindings } from '../api/decode-types.js';
import type { ResourceInfo } from '../api/resources.js';
import { kindType } from '../api/schema.js';
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
 * The top-level and metadata fields of `o` a kind the schema does not describe does not have
 * (`foo`, `metadata.bar`); with `prune`, they are deleted from `o` too.
 */
function undescribedUnknowns(r: ResourceInfo, o: KubeObject, prune: boolean): string[] {
  const unknown: string[] = [];
  const drop = (obj: Record<string, unknown>, k: string, path: string) => {
    unknown.push(path);
    if (prune) delete obj[k];
  };
  if (!r.custom) {
    const allowed = new Set([...base, ...(topFields[r.kind] ?? ['spec', 'status'])]);
    for (const k of Object.keys(o)) if (!allowed.has(k)) drop(o, k, k);
  }
  if (o.metadata)
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
 * Checks a written object as upstream's decoding does, in one walk of it: throws the decoding
 * error for a field of the wrong JSON type (a string for an integer, a boolean in a
 * ConfigMap's data) under every fieldValidation, then, when `strict`, the strict decoding
 * error for fields its kind does not have. Otherwise those fields are deleted from `o`, and
 * their paths (`spec.foo`, `metadata.bar`) returned for Warn's warnings.
 */
export function checkDecoding(r: ResourceInfo, o: KubeObject, strict: boolean): string[] {
  const described = r.custom ? undefined : kindType(r.group, r.version, r.kind);
  const found: DecodeFindings = described
    ? decodeFindings(described, o, !strict)
    : { unknown: undescribedUnknowns(r, o, !strict) };
  if (found.mismatch)
    throw badRequest(
      `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${found.mismatch}`,
    );
  if (strict && found.unknown.length) throw strictDecodingError(r, found.unknown.map(unknownFieldMessage));
  return found.unknown;
}

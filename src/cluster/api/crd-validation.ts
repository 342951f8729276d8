/**
 * Defaulting and validation of CustomResourceDefinitions, after kube-apiextensions' rules
 * (name is `<plural>.<group>`, the group a domain with a dot, DNS-1035 names, one storage
 * version, protected `*.k8s.io` / `*.kubernetes.io` groups need the approval annotation), and
 * Berth's own rule on top: a CRD may never define a resource in a group the API server
 * serves itself. Custom objects are stored under `/registry/<group>/<plural>/`, the same
 * layout as built-ins, so a CRD that named `deployments.apps` would read, and on delete wipe,
 * every Deployment.
 */

import { forbidden, invalid, notSupported, required } from './field-errors.js';
import { type Obj, obj, str } from './field-values.js';
import { dns1035Label, dns1123Subdomain } from './name-formats.js';
import { builtinResources, type ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';
import type { StatusCause } from './status.js';

const dns1035Message =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const approvalAnnotation = 'api-approved.kubernetes.io';
const approvalSee = 'see https://github.com/kubernetes/enhancements/pull/1111';

/** The groups the API server serves built-in resources in; no CRD may define anything there. */
const builtinGroups = new Set(builtinResources().map((r) => r.group));

const dns1035Problem = (s: string): string | undefined =>
  s.length > 63 ? 'must be no more than 63 characters' : dns1035Label.test(s) ? undefined : dns1035Message;

/** Whether `r` is the CustomResourceDefinition kind itself (not a custom resource named so). */
export const isCrd = (r: ResourceInfo): boolean =>
  r.kind === 'CustomResourceDefinition' && r.group === 'apiextensions.k8s.io';

/** Whether Kubernetes reserves the group for its own APIs (`k8s.io`, `kubernetes.io` and subdomains). */
export const isProtectedGroup = (group: string): boolean =>
  ['k8s.io', 'kubernetes.io'].some((d) => group === d || group.endsWith(`.${d}`));

/** Whether the API server serves this group itself (the core group '' included). */
export const isBuiltinGroup = (group: string): boolean => builtinGroups.has(group);

/** v1 defaults: singular is the lower-cased kind, listKind is `<kind>List`. */
export function defaultCrdNames(spec: Obj): void {
  const names = obj(spec.names);
  const kind = str(names.kind);
  if (!kind) return;
  names.singular ??= kind.toLowerCase();
  names.listKind ??= `${kind}List`;
  spec.names = names;
}

function validateNames(names: Obj, causes: StatusCause[]): void {
  const path = 'spec.names';
  for (const f of ['plural', 'singular', 'kind', 'listKind'])
    if (!str(names[f])) causes.push(required(`${path}.${f}`));
  for (const f of ['plural', 'singular']) {
    const v = str(names[f]);
    const prob = v ? dns1035Problem(v) : undefined;
    if (prob) causes.push(invalid(`${path}.${f}`, v, prob));
  }
  for (const f of ['kind', 'listKind']) {
    const v = str(names[f]);
    const prob = v ? dns1035Problem(v.toLowerCase()) : undefined;
    if (prob)
      causes.push(invalid(`${path}.${f}`, v, `may have mixed case, but should otherwise match: ${prob}`));
  }
  if (str(names.kind) && names.kind === names.listKind)
    causes.push(invalid(`${path}.listKind`, names.listKind, 'kind and listKind may not be the same'));
  for (const f of ['shortNames', 'categories']) {
    const list = Array.isArray(names[f]) ? (names[f] as unknown[]) : [];
    list.forEach((v, i) => {
      const prob = dns1035Problem(str(v));
      if (prob) causes.push(invalid(`${path}.${f}[${i}]`, v, prob));
    });
  }
}

function validateVersions(versions: unknown, causes: StatusCause[]): void {
  const list = Array.isArray(versions) ? (versions as unknown[]).map(obj) : [];
  if (list.length === 0) {
    causes.push(required('spec.versions', 'must have at least one version'));
    return;
  }
  const seen = new Set<string>();
  let unique = true;
  list.forEach((v, i) => {
    const name = str(v.name);
    if (seen.has(name)) unique = false;
    seen.add(name);
    const prob = dns1035Problem(name);
    if (prob) causes.push(invalid(`spec.versions[${i}].name`, v.name ?? '', prob));
    if (!obj(v.schema).openAPIV3Schema)
      causes.push(required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
  });
  const summary = list.map((v) => str(v.name));
  if (!unique) causes.push(invalid('spec.versions', summary, 'must contain unique version names'));
  if (list.filter((v) => v.storage === true).length !== 1)
    causes.push(invalid('spec.versions', summary, 'must have exactly one version marked as storage version'));
}

/** Every problem with a CRD about to be stored, as Kubernetes' field causes. */
export function validateCrd(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = obj(crd.spec);
  const names = obj(spec.names);
  const group = str(spec.group);
  const plural = str(names.plural);
  const name = crd.metadata?.name ?? '';
  if (name !== `${plural}.${group}`)
    causes.push(invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));

  if (!group) causes.push(required('spec.group'));
  else if (group.length > 253 || !dns1123Subdomain.test(group))
    causes.push(
      invalid(
        'spec.group',
        group,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  else if (!group.includes('.'))
    causes.push(invalid('spec.group', group, 'should be a domain with at least one dot'));
  if (isBuiltinGroup(group))
    causes.push(
      forbidden(
        'spec.group',
        `the API server serves the group "${group || 'core'}" itself; a CustomResourceDefinition may not define resources in it`,
      ),
    );
  else if (isProtectedGroup(group)) {
    const approval = crd.metadata?.annotations?.[approvalAnnotation];
    if (approval === undefined)
      causes.push(
        required(
          `metadata.annotations[${approvalAnnotation}]`,
          `protected groups must have approval annotation "${approvalAnnotation}", ${approvalSee}`,
        ),
      );
    else if (!/^https?:\/\/\S+$/.test(approval) && !approval.startsWith('unapproved'))
      causes.push(
        invalid(
          `metadata.annotations[${approvalAnnotation}]`,
          approval,
          `protected groups must have approval annotation "${approvalAnnotation}" with either a URL or a reason starting with "unapproved", ${approvalSee}`,
        ),
      );
  }

  const scope = str(spec.scope);
  if (!scope) causes.push(required('spec.scope'));
  else if (scope !== 'Cluster' && scope !== 'Namespaced')
    causes.push(notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));
  validateVersions(spec.versions, causes);
  validateNames(names, causes);
  return causes;
}

/** What an update may not change: the group and plural (they make the name), the scope and kind (they shape storage). */
export function validateCrdUpdate(next: KubeObject, old: KubeObject): StatusCause[] {
  const ns = obj(next.spec);
  const os = obj(old.spec);
  const causes: StatusCause[] = [];
  const fields: [string, unknown, unknown][] = [
    ['spec.group', ns.group, os.group],
    ['spec.names.plural', obj(ns.names).plural, obj(os.names).plural],
    ['spec.scope', ns.scope, os.scope],
    ['spec.names.kind', obj(ns.names).kind, obj(os.names).kind],
  ];
  for (const [field, a, b] of fields) if (a !== b) causes.push(invalid(field, a ?? '', 'field is immutable'));
  return causes;
}

/**
 * The storage prefix of a CRD's custom objects, or undefined when the CRD names no group
 * and plural of its own (missing, not a dotted DNS name, or a built-in group). Deleting a
 * CRD deletes under this prefix only, so even a CRD stored before validation existed can
 * never reach a built-in resource's keys.
 */
export function crdStoragePrefix(crd: KubeObject): string | undefined {
  const spec = obj(crd.spec);
  const group = str(spec.group);
  const plural = str(obj(spec.names).plural);
  if (!group.includes('.') || !dns1123Subdomain.test(group) || isBuiltinGroup(group)) return undefined;
  if (!plural || dns1035Problem(plural)) return undefined;
  return `/registry/${group}/${plural}/`;
}

/**
 * Validation of the rbac.authorization.k8s.io kinds, in upstream's words: names are path
 * segments (colons allowed, as in `system:node`), a binding's roleRef names a role of an
 * allowed kind and never changes, subjects are of a known kind, and rules say what they grant.
 */

import { invalid, notSupported, required } from './field-errors.js';
import { arr, type Obj, obj, strings } from './field-values.js';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';
import type { StatusCause } from './status.js';

export const rbacApiGroup = 'rbac.authorization.k8s.io';

export const isRbac = (r: ResourceInfo) => r.group === rbacApiGroup && !r.custom;

/** Upstream's path-segment name rule (ValidatePathSegmentName), which RBAC names follow. */
export function pathSegmentProblem(name: string): string | undefined {
  if (name === '.' || name === '..') return `may not be '${name}'`;
  for (const bad of ['/', '%']) if (name.includes(bad)) return `may not contain '${bad}'`;
  return undefined;
}

function validateRules(rules: unknown, namespaced: boolean, causes: StatusCause[]): void {
  arr(rules).forEach((rule, i) => {
    const f = `rules[${i}]`;
    if (strings(rule.verbs).length === 0) causes.push(required(`${f}.verbs`));
    const urls = strings(rule.nonResourceURLs);
    if (urls.length) {
      if (namespaced)
        causes.push(
          invalid(`${f}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'),
        );
      if (strings(rule.apiGroups).length || strings(rule.resources).length)
        causes.push(
          invalid(
            `${f}.nonResourceURLs`,
            urls,
            'rules cannot apply to both regular resources and non-resource URLs',
          ),
        );
      return;
    }
    if (strings(rule.apiGroups).length === 0) causes.push(required(`${f}.apiGroups`));
    if (strings(rule.resources).length === 0) causes.push(required(`${f}.resources`));
  });
}

function validateBinding(o: Obj, clusterScoped: boolean, causes: StatusCause[]): void {
  const ref = obj(o.roleRef);
  const kinds = clusterScoped ? ['ClusterRole'] : ['Role', 'ClusterRole'];
  if (!ref.name) causes.push(required('roleRef.name'));
  if (!kinds.includes(String(ref.kind ?? '')))
    causes.push(notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (ref.apiGroup !== rbacApiGroup)
    causes.push(notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [rbacApiGroup]));
  arr(o.subjects).forEach((s, i) => {
    const f = `subjects[${i}]`;
    if (!s.name) causes.push(required(`${f}.name`));
    switch (s.kind) {
      case 'ServiceAccount':
        if (s.apiGroup) causes.push(notSupported(`${f}.apiGroup`, s.apiGroup, ['']));
        if (clusterScoped && !s.namespace) causes.push(required(`${f}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== rbacApiGroup)
          causes.push(notSupported(`${f}.apiGroup`, s.apiGroup ?? '', [rbacApiGroup]));
        break;
      default:
        causes.push(notSupported(`${f}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
}

/** The problems of an rbac object. */
export function validateRbac(r: ResourceInfo, o: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const v = o as unknown as Obj;
  if (r.kind === 'Role' || r.kind === 'ClusterRole') validateRules(v.rules, r.kind === 'Role', causes);
  else validateBinding(v, r.kind === 'ClusterRoleBinding', causes);
  return causes;
}

/** A binding's roleRef may not change (upstream: delete and create the binding instead). */
export function validateRbacUpdate(r: ResourceInfo, next: KubeObject, old: KubeObject): StatusCause[] {
  if (r.kind !== 'RoleBinding' && r.kind !== 'ClusterRoleBinding') return [];
  const a = (next as unknown as Obj).roleRef;
  if (JSON.stringify(a) === JSON.stringify((old as unknown as Obj).roleRef)) return [];
  return [
    {
      field: 'roleRef',
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(a)}: cannot change roleRef`,
    },
  ];
}

/** Whether an update changes what a role or binding grants (not just metadata the GC touches). */
export function grantsChanged(next: KubeObject, old: KubeObject | undefined): boolean {
  if (!old) return true;
  const pick = (o: KubeObject) => {
    const v = o as unknown as Obj;
    return JSON.stringify([v.rules, v.aggregationRule, v.roleRef, v.subjects]);
  };
  return pick(next) !== pick(old);
}

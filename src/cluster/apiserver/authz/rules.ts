/**
 * RBAC's vocabulary (rbac.authorization.k8s.io/v1 rules, subjects, role references) and the
 * matching of one rule against one request, as upstream's rbac.RuleAllows does it.
 */
import type { Attributes, UserInfo } from './attributes.js';

export const rbacGroup = 'rbac.authorization.k8s.io';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

/** Whether a rule's resources name the requested resource (and subresource). */
function resourceMatches(rule: PolicyRule, resource: string, sub: string): boolean {
  const combined = sub ? `${resource}/${sub}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    // `*/status` grants the status subresource of every resource.
    if (sub && r === `*/${sub}`) return true;
  }
  return false;
}

/** Whether a non-resource rule names the path; a trailing `*` matches a prefix. */
function pathMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** Whether one rule allows the request. */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return pathMatches(rule, a.path);
  if (!has(rule.apiGroups, a.apiGroup) || !resourceMatches(rule, a.resource, a.subresource)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== '' && names.includes(a.name));
}

/** The user name a ServiceAccount authenticates as. */
export const serviceAccountUser = (namespace: string, name: string) =>
  `system:serviceaccount:${namespace}:${name}`;

/**
 * The index key of a subject: `u:NAME` for users and ServiceAccounts (by their user name),
 * `g:NAME` for groups; undefined for a subject that can never match.
 */
export function subjectKey(s: Subject, bindingNamespace: string): string | undefined {
  if (s.kind === 'User') return `u:${s.name}`;
  if (s.kind === 'Group') return `g:${s.name}`;
  if (s.kind === 'ServiceAccount') return `u:${serviceAccountUser(s.namespace || bindingNamespace, s.name)}`;
  return undefined;
}

/** The keys a user's bindings are indexed under: the name and every group. */
export const userKeys = (u: UserInfo): string[] => [`u:${u.name}`, ...u.groups.map((g) => `g:${g}`)];

/**
 * Kubernetes' audit policy (audit.k8s.io/v1 Policy): rules tried in order, the first that
 * matches a request gives its level (None, Metadata, Request, RequestResponse) and the stages
 * to leave out; no match is None. A rule matches when each of its lists that is set matches:
 * users, userGroups, verbs, then either namespaces and resources (resource requests) or
 * nonResourceURLs (other paths); a rule with none of the last three matches every request.
 */
import { parse } from 'yaml';
import { invalidArgument } from '../../../core/errors.js';
import type { UserInfo } from '../auth.js';

export const levels = ['None', 'Metadata', 'Request', 'RequestResponse'] as const;
export type Level = (typeof levels)[number];
export const stages = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;
export type Stage = (typeof stages)[number];

export interface GroupResources {
  group?: string;
  /** `pods`, `pods/log`, `*`, `*\/status`, `pods/*`; empty is every resource of the group. */
  resources?: string[];
  resourceNames?: string[];
}

export interface PolicyRule {
  level: Level;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  /** Namespaces the rule covers; "" is cluster-scoped objects. */
  namespaces?: string[];
  /** Paths, or prefixes ending in `*`. */
  nonResourceURLs?: string[];
  omitStages?: Stage[];
  omitManagedFields?: boolean;
}

export interface Policy {
  apiVersion: 'audit.k8s.io/v1';
  kind: 'Policy';
  rules: PolicyRule[];
  omitStages?: Stage[];
  omitManagedFields?: boolean;
}

/** What a request is, as the policy sees it. */
export interface AuditAttributes {
  /** Who authenticated: the policy matches this user, as upstream's does. */
  user: UserInfo;
  /** Whom the request impersonates (`kubectl --as`), if anyone. */
  impersonatedUser?: UserInfo;
  /** Kubernetes' verb: get, list, watch, create, update, patch, delete, deletecollection; or the lowercased method for other paths. */
  verb: string;
  path: string;
  resource?: {
    group: string;
    version: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
}

/** What the policy asks for one request. */
export interface AuditDecision {
  level: Level;
  omitStages: Stage[];
  omitManagedFields: boolean;
}

const has = (list: readonly string[] | undefined, v: string) => !list?.length || list.includes(v);

function pathMatches(path: string, spec: string): boolean {
  if (spec === '*' || spec === path) return true;
  return spec.endsWith('*') && path.startsWith(spec.slice(0, -1));
}

function resourceMatches(rule: PolicyRule, a: NonNullable<AuditAttributes['resource']>): boolean {
  if (rule.namespaces?.length && !rule.namespaces.includes(a.namespace ?? '')) return false;
  if (!rule.resources?.length) return true;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return rule.resources.some((gr) => {
    if ((gr.group ?? '') !== a.group) return false;
    if (!gr.resources?.length) return true;
    if (gr.resourceNames?.length && !gr.resourceNames.includes(a.name ?? '')) return false;
    return gr.resources.some(
      (res) =>
        res === '*' ||
        res === combined ||
        (a.subresource !== undefined && res === `*/${a.subresource}`) ||
        (res.endsWith('/*') && res.slice(0, -2) === a.resource),
    );
  });
}

export function ruleMatches(rule: PolicyRule, a: AuditAttributes): boolean {
  if (!has(rule.users, a.user.name)) return false;
  if (rule.userGroups?.length && !a.user.groups.some((g) => rule.userGroups?.includes(g))) return false;
  if (!has(rule.verbs, a.verb)) return false;
  if (rule.namespaces?.length || rule.resources?.length)
    return a.resource ? resourceMatches(rule, a.resource) : false;
  if (rule.nonResourceURLs?.length)
    return !a.resource && rule.nonResourceURLs.some((s) => pathMatches(a.path, s));
  return true;
}

/** The first matching rule's decision, or None. */
export function decide(policy: Policy, a: AuditAttributes): AuditDecision {
  const rule = policy.rules.find((r) => ruleMatches(r, a));
  if (!rule) return { level: 'None', omitStages: [], omitManagedFields: false };
  return {
    level: rule.level,
    omitStages: [...new Set([...(policy.omitStages ?? []), ...(rule.omitStages ?? [])])],
    omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields ?? false,
  };
}

/** Parses and checks a policy file's text (YAML or JSON); errors name the field and value. */
export function parsePolicy(text: string, source: string): Policy {
  const bad = (what: string) => invalidArgument(`Invalid audit policy ${source}: ${what}`);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw bad((e as Error).message.split('\n')[0] ?? 'not YAML');
  }
  const p = doc as Partial<Policy> | null;
  if (!p || typeof p !== 'object') throw bad('not a Policy object');
  if (p.kind !== 'Policy') throw bad(`kind is "${String(p.kind)}", not Policy`);
  if (p.apiVersion !== 'audit.k8s.io/v1')
    throw bad(`apiVersion is "${String(p.apiVersion)}", not audit.k8s.io/v1`);
  if (!Array.isArray(p.rules) || !p.rules.length) throw bad('rules is empty');
  const checkStages = (list: unknown, at: string) => {
    if (list === undefined) return;
    if (!Array.isArray(list)) throw bad(`${at} is not a list`);
    for (const s of list)
      if (!stages.includes(s as Stage)) throw bad(`${at}: unknown stage "${s}" (use ${stages.join(', ')})`);
  };
  checkStages(p.omitStages, 'omitStages');
  p.rules.forEach((r, i) => {
    if (!levels.includes(r?.level as Level))
      throw bad(`rules[${i}].level "${String(r?.level)}" is not one of ${levels.join(', ')}`);
    checkStages(r.omitStages, `rules[${i}].omitStages`);
    if (r.nonResourceURLs?.length && (r.resources?.length || r.namespaces?.length))
      throw bad(`rules[${i}]: nonResourceURLs cannot be combined with resources or namespaces`);
    for (const key of ['users', 'userGroups', 'verbs', 'namespaces', 'nonResourceURLs', 'resources'] as const)
      if (r[key] !== undefined && !Array.isArray(r[key])) throw bad(`rules[${i}].${key} is not a list`);
  });
  return p as Policy;
}

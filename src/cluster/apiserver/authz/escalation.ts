/**
 * RBAC's escalation check (upstream's registry/rbac/validation): a user may store a Role or
 * ClusterRole only if they already hold every permission in it, or may `escalate` roles; and a
 * RoleBinding or ClusterRoleBinding only if they hold every permission of the role it binds,
 * or may `bind` that role. Without it, anyone allowed to write RBAC objects could grant
 * themselves anything.
 */
import { grantsChanged, isRbac } from '../../api/rbac-validation.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/selectors.js';
import { ApiError, notFoundError } from '../../api/status.js';
import { type Authorizer, resourceAttributes, type UserInfo } from './attributes.js';
import type { RbacPolicy } from './rbac.js';
import { type PolicyRule, type RoleRef, rbacGroup } from './rules.js';

const covers = (owned: string[] | undefined, want: string) =>
  !!owned && (owned.includes('*') || owned.includes(want));

/** Whether one owned rule grants everything one requested atom asks. */
function ruleCovers(
  owner: PolicyRule,
  atom: { verb: string; group?: string; resource?: string; name?: string; url?: string },
): boolean {
  if (!covers(owner.verbs, atom.verb)) return false;
  if (atom.url !== undefined)
    return (owner.nonResourceURLs ?? []).some(
      (u) =>
        u === '*' || u === atom.url || (u.endsWith('*') && (atom.url as string).startsWith(u.slice(0, -1))),
    );
  if (!covers(owner.apiGroups, atom.group ?? '')) return false;
  const res = atom.resource ?? '';
  const slash = res.indexOf('/');
  const resOk = (owner.resources ?? []).some(
    (r) => r === '*' || r === res || (slash > 0 && r === `*${res.slice(slash)}`),
  );
  if (!resOk) return false;
  const names = owner.resourceNames ?? [];
  return names.length === 0 || (atom.name !== undefined && names.includes(atom.name));
}

/** The rules in `requested` that `owned` does not cover, split to one verb/group/resource each. */
export function uncovered(owned: PolicyRule[], requested: PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of requested)
    for (const verb of rule.verbs ?? []) {
      for (const url of rule.nonResourceURLs ?? [])
        if (!owned.some((o) => ruleCovers(o, { verb, url })))
          missing.push({ nonResourceURLs: [url], verbs: [verb] });
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? []) {
          const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
          for (const name of names)
            if (!owned.some((o) => ruleCovers(o, { verb, group, resource, ...(name ? { name } : {}) })))
              missing.push({
                apiGroups: [group],
                resources: [resource],
                ...(name ? { resourceNames: [name] } : {}),
                verbs: [verb],
              });
        }
    }
  return missing;
}

/** A rule as upstream's compact form prints it. */
function compact(r: PolicyRule): string {
  const q = (l: string[]) => `[${l.map((x) => JSON.stringify(x)).join(' ')}]`;
  const parts: string[] = [];
  if (r.apiGroups) parts.push(`APIGroups:${q(r.apiGroups)}`);
  if (r.resources) parts.push(`Resources:${q(r.resources)}`);
  if (r.resourceNames) parts.push(`ResourceNames:${q(r.resourceNames)}`);
  if (r.nonResourceURLs) parts.push(`NonResourceURLs:${q(r.nonResourceURLs)}`);
  parts.push(`Verbs:${q(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

const plural = (kind: string) => `${kind.toLowerCase()}s`;

/**
 * Checks that `user` may store `obj` (one of the four rbac kinds, namespaced in `namespace`);
 * throws upstream's Forbidden if it would grant what the user does not hold.
 */
export function checkEscalation(
  kind: string,
  namespace: string,
  obj: KubeObject,
  user: UserInfo,
  authz: Authorizer,
  policy: RbacPolicy,
): void {
  const name = obj.metadata?.name ?? '';
  const refuse = (missing: PolicyRule[], extra: string) =>
    new ApiError(
      403,
      'Forbidden',
      `${plural(kind)}.${rbacGroup} ${JSON.stringify(name)} is forbidden: user ${JSON.stringify(user.name)} (groups=[${user.groups.map((g) => JSON.stringify(g)).join(' ')}]) is attempting to grant RBAC permissions not currently held:\n${missing.map(compact).join('\n')}${extra}`,
      { name, group: rbacGroup, kind: plural(kind) },
    );
  const allowed = (verb: string, resource: string, resourceName: string) =>
    authz.authorize(
      resourceAttributes(user, verb, { apiGroup: rbacGroup, resource, namespace, name: resourceName }),
    ).decision === 'allow';
  const held = () => {
    const { rules, missing } = policy.rulesFor(user, namespace);
    return { rules, extra: missing.length ? `; resolution errors: [${missing.join(' ')}]` : '' };
  };
  if (kind === 'Role' || kind === 'ClusterRole') {
    if (allowed('escalate', plural(kind), name)) return;
    const want = Array.isArray((obj as { rules?: unknown }).rules)
      ? (obj as { rules: PolicyRule[] }).rules
      : [];
    const { rules, extra } = held();
    const missing = uncovered(rules, want);
    if (missing.length) throw refuse(missing, extra);
    return;
  }
  const ref = (obj as { roleRef?: RoleRef }).roleRef;
  if (!ref) return;
  if (allowed('bind', plural(ref.kind), ref.name)) return;
  const role = ref.kind === 'ClusterRole' ? policy.clusterRole(ref.name) : policy.role(namespace, ref.name);
  if (!role) throw notFoundError({ group: rbacGroup, resource: plural(ref.kind), name: ref.name });
  const { rules, extra } = held();
  const missing = uncovered(rules, (role as { rules?: PolicyRule[] }).rules ?? []);
  if (missing.length) throw refuse(missing, extra);
}

/**
 * The write check for a request on resource `r`: for the rbac kinds, the escalation check
 * on what is about to be stored (skipped when only metadata such as owner references or
 * finalizers changes, as upstream skips it for the garbage collector); undefined otherwise.
 */
export function escalationCheck(
  r: ResourceInfo,
  namespace: string | undefined,
  user: UserInfo,
  authz: Authorizer,
  policy: RbacPolicy,
): ((next: KubeObject, old: KubeObject | undefined) => void) | undefined {
  if (!isRbac(r)) return undefined;
  return (next, old) => {
    if (grantsChanged(next, old)) checkEscalation(r.kind, namespace ?? '', next, user, authz, policy);
  };
}

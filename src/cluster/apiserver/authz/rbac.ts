/**
 * The RBAC authorizer over an in-memory copy of the four rbac kinds. Bindings are indexed by
 * subject (user name, group) and namespace, so a request looks at the bindings that name its
 * user or groups and never walks the others: a thousand RoleBindings for other users cost
 * nothing per request. The copy is fed by {@link RbacPolicy.apply} (see policy-feed.ts).
 */
import type { KubeObject } from '../../api/selectors.js';
import type { Attributes, Authorizer, AuthorizerResult, UserInfo } from './attributes.js';
import { type PolicyRule, type RoleRef, ruleAllows, type Subject, subjectKey, userKeys } from './rules.js';

interface Binding {
  namespace: string;
  name: string;
  roleRef: RoleRef;
  keys: string[];
}

export type RbacKind = 'Role' | 'ClusterRole' | 'RoleBinding' | 'ClusterRoleBinding';

/** The id {@link RbacPolicy.prune} takes. */
export const policyId = (kind: RbacKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

const rulesOf = (o: KubeObject): PolicyRule[] =>
  Array.isArray((o as { rules?: unknown }).rules) ? (o as { rules: PolicyRule[] }).rules : [];

/** Adds `b` under `key` in a multimap. */
function index(m: Map<string, Set<Binding>>, key: string, b: Binding): void {
  const s = m.get(key);
  if (s) s.add(b);
  else m.set(key, new Set([b]));
}

function unindex(m: Map<string, Set<Binding>>, key: string, b: Binding): void {
  const s = m.get(key);
  if (!s) return;
  s.delete(b);
  if (s.size === 0) m.delete(key);
}

export class RbacPolicy implements Authorizer {
  private clusterRoles = new Map<string, KubeObject>();
  private roles = new Map<string, KubeObject>();
  private clusterBindings = new Map<string, Binding>();
  private bindings = new Map<string, Binding>();
  /** subject key -> ClusterRoleBindings naming it. */
  private clusterIndex = new Map<string, Set<Binding>>();
  /** `namespace\0subject key` -> RoleBindings naming it. */
  private nsIndex = new Map<string, Set<Binding>>();
  /** The revision each object was last applied at (kept after a delete, to ignore stale events). */
  private revs = new Map<string, number>();
  /** Ids of the objects held now, for {@link prune}. */
  private live = new Map<string, [RbacKind, string, string]>();
  private listeners: ((kind: RbacKind) => void)[] = [];

  /** Calls `fn` after every change, with the kind that changed. */
  onChange(fn: (kind: RbacKind) => void): void {
    this.listeners.push(fn);
  }

  /**
   * Applies a stored object (or its deletion, `obj` undefined) seen at `revision`; an event
   * older than what this copy holds for the object is ignored, so the write path and a watch
   * may both feed it.
   */
  apply(
    kind: RbacKind,
    namespace: string,
    name: string,
    obj: KubeObject | undefined,
    revision: number,
  ): void {
    const id = policyId(kind, namespace, name);
    if ((this.revs.get(id) ?? -1) >= revision) return;
    this.revs.set(id, revision);
    if (obj) this.live.set(id, [kind, namespace, name]);
    else this.live.delete(id);
    const nsName = `${namespace}/${name}`;
    switch (kind) {
      case 'ClusterRole':
        if (obj) this.clusterRoles.set(name, obj);
        else this.clusterRoles.delete(name);
        break;
      case 'Role':
        if (obj) this.roles.set(nsName, obj);
        else this.roles.delete(nsName);
        break;
      case 'ClusterRoleBinding':
        this.setBinding(this.clusterBindings, this.clusterIndex, name, '', obj);
        break;
      case 'RoleBinding':
        this.setBinding(this.bindings, this.nsIndex, nsName, namespace, obj);
        break;
    }
    for (const fn of this.listeners) fn(kind);
  }

  /** Drops every object a fresh list (`listed` ids, read at `revision`) no longer has. */
  prune(listed: Set<string>, revision: number): void {
    for (const [id, [kind, ns, name]] of [...this.live])
      if (!listed.has(id)) this.apply(kind, ns, name, undefined, revision);
  }

  private setBinding(
    all: Map<string, Binding>,
    idx: Map<string, Set<Binding>>,
    id: string,
    namespace: string,
    obj: KubeObject | undefined,
  ): void {
    const prefix = namespace ? `${namespace}\0` : '';
    const old = all.get(id);
    if (old) for (const k of old.keys) unindex(idx, prefix + k, old);
    all.delete(id);
    if (!obj) return;
    const subjects = ((obj as { subjects?: Subject[] }).subjects ?? []) as Subject[];
    const b: Binding = {
      namespace,
      name: obj.metadata?.name ?? '',
      roleRef: (obj as { roleRef: RoleRef }).roleRef,
      keys: [...new Set(subjects.map((s) => subjectKey(s, namespace)).filter((k): k is string => !!k))],
    };
    all.set(id, b);
    for (const k of b.keys) index(idx, prefix + k, b);
  }

  /** A ClusterRole as this copy holds it. */
  clusterRole(name: string): KubeObject | undefined {
    return this.clusterRoles.get(name);
  }

  /** A Role as this copy holds it. */
  role(namespace: string, name: string): KubeObject | undefined {
    return this.roles.get(`${namespace}/${name}`);
  }

  /** Every ClusterRole held. */
  allClusterRoles(): KubeObject[] {
    return [...this.clusterRoles.values()];
  }

  private roleRules(ref: RoleRef, namespace: string): PolicyRule[] | undefined {
    const role =
      ref.kind === 'ClusterRole'
        ? this.clusterRoles.get(ref.name)
        : this.roles.get(`${namespace}/${ref.name}`);
    return role ? rulesOf(role) : undefined;
  }

  /**
   * Visits the rules that apply to `user` (cluster-wide, then in `namespace` if given) until
   * `visit` returns true; returns whether it did, and the bindings whose role is missing.
   */
  visitRules(
    user: UserInfo,
    namespace: string,
    visit: (rule: PolicyRule) => boolean,
  ): { stopped: boolean; missing: string[] } {
    const missing: string[] = [];
    const keys = userKeys(user);
    const seen = new Set<Binding>();
    const walk = (idx: Map<string, Set<Binding>>, prefix: string, ns: string): boolean => {
      for (const k of keys)
        for (const b of idx.get(prefix + k) ?? []) {
          if (seen.has(b)) continue;
          seen.add(b);
          const rules = this.roleRules(b.roleRef, ns);
          if (!rules) {
            missing.push(
              `${b.roleRef.kind.toLowerCase()}.rbac.authorization.k8s.io "${b.roleRef.name}" not found`,
            );
            continue;
          }
          for (const r of rules) if (visit(r)) return true;
        }
      return false;
    };
    if (walk(this.clusterIndex, '', '')) return { stopped: true, missing };
    if (namespace && walk(this.nsIndex, `${namespace}\0`, namespace)) return { stopped: true, missing };
    return { stopped: false, missing };
  }

  authorize(a: Attributes): AuthorizerResult {
    const { stopped } = this.visitRules(a.user, a.resourceRequest ? a.namespace : '', (r) =>
      ruleAllows(r, a),
    );
    // RBAC only grants; a request it does not allow is left to the next authorizer.
    return stopped ? { decision: 'allow', reason: '' } : { decision: 'noOpinion', reason: '' };
  }

  /** Every rule that applies to `user` in `namespace` (cluster-wide ones included). */
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; missing: string[] } {
    const rules: PolicyRule[] = [];
    const { missing } = this.visitRules(user, namespace, (r) => {
      rules.push(r);
      return false;
    });
    return { rules, missing };
  }
}

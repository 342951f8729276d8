// RBAC's escalation and bind checks: a user stores a role only with every permission in it
// (or `escalate`), and a binding only with every permission of its role (or `bind` on it);
// plus aggregation and start-up reconciliation of the bootstrap policy.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/selectors.js';
import { aggregatedRules } from './aggregate.js';
import { mastersBypass, type UserInfo, union } from './attributes.js';
import { bootstrapClusterRoles } from './bootstrap-policy.js';
import { checkEscalation, uncovered } from './escalation.js';
import { RbacPolicy } from './rbac.js';
import { reconciled } from './reconcile.js';
import { type PolicyRule, rbacGroup } from './rules.js';

const alice: UserInfo = { name: 'alice', groups: ['system:authenticated'] };
let rev = 1;
const put = (p: RbacPolicy, o: KubeObject) =>
  p.apply(o.kind as 'Role', o.metadata?.namespace ?? '', o.metadata?.name ?? '', o, rev++);
const clusterRole = (name: string, rules: PolicyRule[], labels?: Record<string, string>) =>
  ({ kind: 'ClusterRole', metadata: { name, ...(labels ? { labels } : {}) }, rules }) as KubeObject;
const grant = (p: RbacPolicy, roleName: string, rules: PolicyRule[], namespace = 'n') => {
  put(p, clusterRole(roleName, rules));
  put(p, {
    kind: 'RoleBinding',
    metadata: { name: `${roleName}-alice`, namespace },
    roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: roleName },
    subjects: [{ kind: 'User', apiGroup: rbacGroup, name: 'alice' }],
  } as KubeObject);
};

describe('escalation check', () => {
  const role = (rules: PolicyRule[]) =>
    ({ kind: 'Role', metadata: { name: 'r', namespace: 'n' }, rules }) as KubeObject;

  test('covering rules: wildcards, subresources, names and URLs', () => {
    const owned: PolicyRule[] = [
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', '*/status'] },
      { verbs: ['*'], apiGroups: ['apps'], resources: ['*'] },
      { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] },
      { verbs: ['get'], nonResourceURLs: ['/logs/*'] },
    ];
    assert.deepEqual(
      uncovered(owned, [{ verbs: ['get'], apiGroups: [''], resources: ['pods', 'services/status'] }]),
      [],
    );
    assert.deepEqual(
      uncovered(owned, [{ verbs: ['delete'], apiGroups: ['apps'], resources: ['deployments/scale'] }]),
      [],
    );
    assert.deepEqual(
      uncovered(owned, [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] }]),
      [],
    );
    assert.deepEqual(uncovered(owned, [{ verbs: ['get'], nonResourceURLs: ['/logs/x'] }]), []);
    assert.deepEqual(uncovered(owned, [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }]), [
      { verbs: ['get'], apiGroups: [''], resources: ['secrets'] },
    ]);
    assert.deepEqual(uncovered(owned, [{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }]), [
      { verbs: ['*'], apiGroups: [''], resources: ['pods'] },
    ]);
    assert.equal(uncovered(owned, [{ verbs: ['get'], nonResourceURLs: ['*'] }]).length, 1);
  });

  test('a role granting more than its author holds is refused, in upstream words', () => {
    const p = new RbacPolicy();
    grant(p, 'pods-rw', [
      { verbs: ['*'], apiGroups: [''], resources: ['pods'] },
      { verbs: ['create'], apiGroups: [rbacGroup], resources: ['roles'] },
    ]);
    const authz = union(mastersBypass, p);
    checkEscalation(
      'Role',
      'n',
      role([{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]),
      alice,
      authz,
      p,
    );
    assert.throws(
      () =>
        checkEscalation(
          'Role',
          'n',
          role([{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }]),
          alice,
          authz,
          p,
        ),
      (e: Error) =>
        e.message ===
        'roles.rbac.authorization.k8s.io "r" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
    );
    // Held in namespace n only: a Role elsewhere, or a ClusterRole, would escalate.
    assert.throws(() =>
      checkEscalation(
        'Role',
        'm',
        role([{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]),
        alice,
        authz,
        p,
      ),
    );
    assert.throws(() =>
      checkEscalation(
        'ClusterRole',
        '',
        clusterRole('c', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]),
        alice,
        authz,
        p,
      ),
    );
  });

  test('escalate lets a user write any role; system:masters always may', () => {
    const p = new RbacPolicy();
    grant(p, 'esc', [{ verbs: ['escalate'], apiGroups: [rbacGroup], resources: ['roles'] }]);
    const authz = union(mastersBypass, p);
    checkEscalation(
      'Role',
      'n',
      role([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]),
      alice,
      authz,
      p,
    );
    checkEscalation(
      'ClusterRole',
      '',
      clusterRole('c', [{ verbs: ['*'], nonResourceURLs: ['*'] }]),
      { name: 'root', groups: ['system:masters'] },
      authz,
      p,
    );
  });

  test('a binding needs the role’s permissions, or bind on that role', () => {
    const p = new RbacPolicy();
    put(p, clusterRole('admin-ish', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]));
    grant(p, 'reader', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
    const authz = union(mastersBypass, p);
    const rb = (roleName: string) =>
      ({
        kind: 'RoleBinding',
        metadata: { name: 'x', namespace: 'n' },
        roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: roleName },
        subjects: [{ kind: 'User', apiGroup: rbacGroup, name: 'mallory' }],
      }) as KubeObject;
    checkEscalation('RoleBinding', 'n', rb('reader'), alice, authz, p);
    assert.throws(
      () => checkEscalation('RoleBinding', 'n', rb('admin-ish'), alice, authz, p),
      /attempting to grant RBAC permissions not currently held/,
    );
    assert.throws(
      () => checkEscalation('RoleBinding', 'n', rb('missing'), alice, authz, p),
      /clusterroles.rbac.authorization.k8s.io "missing" not found/,
    );
    grant(p, 'binder', [
      { verbs: ['bind'], apiGroups: [rbacGroup], resources: ['clusterroles'], resourceNames: ['admin-ish'] },
    ]);
    checkEscalation('RoleBinding', 'n', rb('admin-ish'), alice, authz, p);
  });
});

describe('aggregation and reconciliation', () => {
  test('an aggregated role gathers the rules of the roles its selectors match, once each', () => {
    const roles = bootstrapClusterRoles();
    const extra = clusterRole(
      'crd-view',
      [{ verbs: ['get'], apiGroups: ['example.com'], resources: ['widgets'] }],
      {
        'rbac.authorization.k8s.io/aggregate-to-view': 'true',
      },
    );
    const all = [...roles, extra];
    const view = roles.find((r) => r.metadata?.name === 'view') as KubeObject;
    const edit = roles.find((r) => r.metadata?.name === 'edit') as KubeObject;
    const viewRules = aggregatedRules(view, all) ?? [];
    assert.ok(viewRules.some((r) => r.apiGroups?.includes('example.com')));
    assert.ok(!viewRules.some((r) => r.verbs.includes('create')));
    // The next pass sees view's new rules, which view's label rolls up into edit.
    (view as { rules?: PolicyRule[] }).rules = viewRules;
    const editRules = aggregatedRules(edit, all) ?? [];
    assert.ok(
      editRules.some((r) => r.apiGroups?.includes('example.com')),
      'view rolls up into edit',
    );
    assert.ok(editRules.some((r) => r.resources?.includes('secrets') && r.verbs.includes('create')));
    assert.equal(new Set(editRules.map((r) => JSON.stringify(r))).size, editRules.length);
    assert.equal(aggregatedRules(roles[0] as KubeObject, all), undefined);
  });

  test('reconciling adds missing rules and keeps additions; autoupdate=false opts out', () => {
    const want = clusterRole('system:x', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
    const stored = clusterRole('system:x', [{ verbs: ['list'], apiGroups: [''], resources: ['nodes'] }]);
    const next = reconciled(stored, want) as { rules: PolicyRule[] };
    assert.equal(next.rules.length, 2);
    assert.equal(reconciled(next as unknown as KubeObject, want), undefined, 'already reconciled');
    const pinned = {
      ...stored,
      metadata: { name: 'system:x', annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'false' } },
    };
    assert.equal(reconciled(pinned as KubeObject, want), undefined);
  });
});

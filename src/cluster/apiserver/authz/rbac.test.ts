// The RBAC authorizer over a policy fed object by object: rule matching for every verb class,
// subresources, resource names and non-resource URLs; RoleBindings in force only in their
// namespace; ServiceAccount and group subjects; stale events ignored; the system:masters
// bypass; and the request attributes and 403 wording upstream uses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../../api/selectors.js';
import type { ApiError } from '../../api/status.js';
import {
  type Attributes,
  forbidden,
  mastersBypass,
  pathAttributes,
  resourceAttributes,
  type UserInfo,
  union,
} from './attributes.js';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from './bootstrap-policy.js';
import { RbacPolicy } from './rbac.js';
import { impersonate, requestAttributes } from './request.js';
import { type PolicyRule, rbacGroup } from './rules.js';

const alice: UserInfo = { name: 'alice', groups: ['devs', 'system:authenticated'] };
let rev = 1;
const role = (kind: 'Role' | 'ClusterRole', name: string, rules: PolicyRule[], namespace = ''): KubeObject =>
  ({ kind, metadata: { name, ...(namespace ? { namespace } : {}) }, rules }) as KubeObject;
const binding = (
  kind: 'RoleBinding' | 'ClusterRoleBinding',
  name: string,
  roleRef: { kind: string; name: string },
  subjects: { kind: string; name: string; namespace?: string }[],
  namespace = '',
): KubeObject =>
  ({
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    roleRef: { apiGroup: rbacGroup, ...roleRef },
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? s : { apiGroup: rbacGroup, ...s })),
  }) as KubeObject;

function feed(policy: RbacPolicy, ...objs: KubeObject[]): void {
  for (const o of objs)
    policy.apply(o.kind as 'Role', o.metadata?.namespace ?? '', o.metadata?.name ?? '', o, rev++);
}

const can = (p: RbacPolicy, a: Attributes) => p.authorize(a).decision === 'allow';
const res = (user: UserInfo, verb: string, resource: string, extra: Partial<Attributes> = {}) => ({
  ...resourceAttributes(user, verb, { resource }),
  ...extra,
});

describe('RBAC authorizer', () => {
  test('a RoleBinding grants its Role in its own namespace only', () => {
    const p = new RbacPolicy();
    feed(
      p,
      role(
        'Role',
        'reader',
        [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'] }],
        'team',
      ),
      binding(
        'RoleBinding',
        'rb',
        { kind: 'Role', name: 'reader' },
        [{ kind: 'User', name: 'alice' }],
        'team',
      ),
    );
    for (const verb of ['get', 'list', 'watch'])
      assert.ok(can(p, res(alice, verb, 'pods', { namespace: 'team' })), verb);
    for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection'])
      assert.ok(!can(p, res(alice, verb, 'pods', { namespace: 'team' })), verb);
    assert.ok(!can(p, res(alice, 'get', 'pods', { namespace: 'other' })));
    assert.ok(!can(p, res(alice, 'list', 'pods')), 'cluster scope');
    assert.ok(!can(p, res(alice, 'get', 'secrets', { namespace: 'team' })));
    assert.ok(!can(p, res({ name: 'bob', groups: [] }, 'get', 'pods', { namespace: 'team' })));
  });

  test('a ClusterRole bound by a RoleBinding, and by a ClusterRoleBinding to a group', () => {
    const p = new RbacPolicy();
    feed(
      p,
      role('ClusterRole', 'cm-writer', [{ verbs: ['*'], apiGroups: [''], resources: ['configmaps'] }]),
      binding(
        'RoleBinding',
        'rb',
        { kind: 'ClusterRole', name: 'cm-writer' },
        [{ kind: 'User', name: 'alice' }],
        'a',
      ),
    );
    assert.ok(can(p, res(alice, 'delete', 'configmaps', { namespace: 'a' })));
    assert.ok(!can(p, res(alice, 'delete', 'configmaps', { namespace: 'b' })));
    feed(
      p,
      binding('ClusterRoleBinding', 'crb', { kind: 'ClusterRole', name: 'cm-writer' }, [
        { kind: 'Group', name: 'devs' },
      ]),
    );
    assert.ok(can(p, res(alice, 'delete', 'configmaps', { namespace: 'b' })));
    assert.ok(can(p, res(alice, 'list', 'configmaps')));
  });

  test('subresources, */status, resource names and API groups', () => {
    const p = new RbacPolicy();
    feed(
      p,
      role('ClusterRole', 'r', [
        { verbs: ['get'], apiGroups: ['apps'], resources: ['deployments/scale'] },
        { verbs: ['update'], apiGroups: ['*'], resources: ['*/status'] },
        { verbs: ['get', 'delete'], apiGroups: [''], resources: ['secrets'], resourceNames: ['mine'] },
      ]),
      binding('ClusterRoleBinding', 'b', { kind: 'ClusterRole', name: 'r' }, [
        { kind: 'User', name: 'alice' },
      ]),
    );
    const scale = { apiGroup: 'apps', subresource: 'scale', namespace: 'n', name: 'web' };
    assert.ok(can(p, res(alice, 'get', 'deployments', scale)));
    assert.ok(!can(p, res(alice, 'get', 'deployments', { ...scale, subresource: '' })));
    assert.ok(!can(p, res(alice, 'get', 'deployments', { ...scale, apiGroup: 'extensions' })));
    assert.ok(can(p, res(alice, 'update', 'pods', { subresource: 'status', namespace: 'n', name: 'p' })));
    assert.ok(!can(p, res(alice, 'update', 'pods', { namespace: 'n', name: 'p' })));
    assert.ok(can(p, res(alice, 'get', 'secrets', { namespace: 'n', name: 'mine' })));
    assert.ok(!can(p, res(alice, 'get', 'secrets', { namespace: 'n', name: 'theirs' })));
    assert.ok(!can(p, res(alice, 'list', 'secrets', { namespace: 'n' })), 'a list names no object');
  });

  test('non-resource URLs, exact and by prefix', () => {
    const p = new RbacPolicy();
    feed(p, ...bootstrapClusterRoles(), ...bootstrapClusterRoleBindings());
    assert.ok(can(p, pathAttributes(alice, 'get', '/apis/apps/v1')));
    assert.ok(can(p, pathAttributes(alice, 'get', '/version')));
    assert.ok(!can(p, pathAttributes(alice, 'get', '/metrics')));
    assert.ok(!can(p, pathAttributes(alice, 'post', '/api')));
    const anonymous = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    assert.ok(can(p, pathAttributes(anonymous, 'get', '/healthz')));
    assert.ok(!can(p, pathAttributes(anonymous, 'get', '/api')));
    assert.ok(!can(p, res(anonymous, 'delete', 'namespaces', { name: 'default', namespace: 'default' })));
  });

  test('ServiceAccount subjects match the account in the binding namespace, or the one named', () => {
    const p = new RbacPolicy();
    feed(
      p,
      role('ClusterRole', 'r', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]),
      binding(
        'RoleBinding',
        'b',
        { kind: 'ClusterRole', name: 'r' },
        [{ kind: 'ServiceAccount', name: 'bot' }],
        'n',
      ),
    );
    const bot = { name: 'system:serviceaccount:n:bot', groups: ['system:serviceaccounts'] };
    const other = { name: 'system:serviceaccount:m:bot', groups: ['system:serviceaccounts'] };
    assert.ok(can(p, res(bot, 'get', 'pods', { namespace: 'n' })));
    assert.ok(!can(p, res(other, 'get', 'pods', { namespace: 'n' })));
  });

  test('deleted objects stop granting; an older event never undoes a newer one', () => {
    const p = new RbacPolicy();
    const r = role('ClusterRole', 'r', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
    const b = binding('ClusterRoleBinding', 'b', { kind: 'ClusterRole', name: 'r' }, [
      { kind: 'User', name: 'alice' },
    ]);
    p.apply('ClusterRole', '', 'r', r, 10);
    p.apply('ClusterRoleBinding', '', 'b', b, 11);
    assert.ok(can(p, res(alice, 'get', 'pods', { namespace: 'x' })));
    p.apply('ClusterRoleBinding', '', 'b', undefined, 12);
    assert.ok(!can(p, res(alice, 'get', 'pods', { namespace: 'x' })));
    p.apply('ClusterRoleBinding', '', 'b', b, 11);
    assert.ok(!can(p, res(alice, 'get', 'pods', { namespace: 'x' })), 'stale put ignored');
    p.apply('ClusterRoleBinding', '', 'b', b, 13);
    p.apply('ClusterRole', '', 'r', undefined, 14);
    assert.ok(!can(p, res(alice, 'get', 'pods', { namespace: 'x' })), 'role gone');
    assert.match(p.rulesFor(alice, '').missing.join(), /clusterrole.rbac.authorization.k8s.io "r" not found/);
    p.prune(new Set(), 15);
    assert.deepEqual(p.rulesFor(alice, '').missing, []);
  });

  test('system:masters may do anything; others are denied with no opinion from RBAC', () => {
    const authz = union(mastersBypass, new RbacPolicy());
    const admin = { name: 'root', groups: ['system:masters'] };
    assert.equal(authz.authorize(res(admin, 'escalate', 'clusterroles')).decision, 'allow');
    assert.equal(authz.authorize(res(alice, 'get', 'pods')).decision, 'deny');
  });

  test('1,000 RoleBindings for other users leave a request to the bindings that name its user', () => {
    const p = new RbacPolicy();
    feed(p, role('ClusterRole', 'r', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]));
    for (let i = 0; i < 1000; i++)
      feed(
        p,
        binding(
          'RoleBinding',
          `b${i}`,
          { kind: 'ClusterRole', name: 'r' },
          [{ kind: 'User', name: `u${i}` }],
          'n',
        ),
      );
    let visited = 0;
    p.visitRules({ name: 'u7', groups: [] }, 'n', () => {
      visited++;
      return false;
    });
    assert.equal(visited, 1);
  });
});

describe('request attributes', () => {
  const q = (s = '') => new URLSearchParams(s);
  const attrs = (method: string, path: string, query = '') =>
    requestAttributes(alice, method, path, path.split('/').filter(Boolean), q(query));

  test('verbs from the method, watch and collections', () => {
    assert.equal(attrs('GET', '/api/v1/namespaces/n/pods').verb, 'list');
    assert.equal(attrs('GET', '/api/v1/namespaces/n/pods', 'watch=true').verb, 'watch');
    assert.equal(attrs('GET', '/api/v1/watch/namespaces/n/pods').verb, 'watch');
    assert.equal(attrs('GET', '/api/v1/namespaces/n/pods/p').verb, 'get');
    assert.equal(attrs('POST', '/api/v1/namespaces/n/pods').verb, 'create');
    assert.equal(attrs('PUT', '/api/v1/namespaces/n/pods/p').verb, 'update');
    assert.equal(attrs('PATCH', '/api/v1/namespaces/n/pods/p').verb, 'patch');
    assert.equal(attrs('DELETE', '/api/v1/namespaces/n/pods/p').verb, 'delete');
    assert.equal(attrs('DELETE', '/api/v1/namespaces/n/pods').verb, 'deletecollection');
    const one = attrs('GET', '/api/v1/namespaces/n/pods', 'fieldSelector=metadata.name%3Dp&watch=1');
    assert.deepEqual([one.verb, one.name], ['watch', 'p']);
  });

  test('groups, namespaces, names and subresources', () => {
    const a = attrs('PUT', '/apis/apps/v1/namespaces/n/deployments/web/scale');
    assert.deepEqual(
      [a.apiGroup, a.resource, a.namespace, a.name, a.subresource, a.resourceRequest],
      ['apps', 'deployments', 'n', 'web', 'scale', true],
    );
    const ns = attrs('GET', '/api/v1/namespaces/n');
    assert.deepEqual([ns.resource, ns.name, ns.namespace], ['namespaces', 'n', 'n']);
    const fin = attrs('PUT', '/api/v1/namespaces/n/finalize');
    assert.deepEqual([fin.resource, fin.name, fin.subresource], ['namespaces', 'n', 'finalize']);
    const nodes = attrs('GET', '/api/v1/nodes');
    assert.deepEqual([nodes.resource, nodes.namespace, nodes.verb], ['nodes', '', 'list']);
  });

  test('discovery and other paths are non-resource requests', () => {
    for (const p of ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/version', '/openapi/v3'])
      assert.equal(attrs('GET', p).resourceRequest, false, p);
    assert.equal(attrs('GET', '/api/v1').verb, 'get');
  });

  test('403 messages as upstream words them', () => {
    const msg = (a: Attributes) => (forbidden(a) as ApiError).message;
    assert.equal(
      msg(attrs('GET', '/api/v1/namespaces/default/pods')),
      'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    assert.equal(
      msg(attrs('DELETE', '/apis/apps/v1/namespaces/n/deployments/web')),
      'deployments.apps "web" is forbidden: User "alice" cannot delete resource "deployments" in API group "apps" in the namespace "n"',
    );
    assert.equal(
      msg(attrs('GET', '/api/v1/nodes/n1/status')),
      'nodes "n1" is forbidden: User "alice" cannot get resource "nodes/status" in API group "" at the cluster scope',
    );
    assert.equal(msg(attrs('GET', '/metrics')), 'forbidden: User "alice" cannot get path "/metrics"');
    const e = forbidden(attrs('GET', '/api/v1/namespaces/default/pods'));
    assert.equal(e.httpCode, 403);
    assert.deepEqual(e.statusDetails, { kind: 'pods' });
  });
});

describe('impersonation', () => {
  const p = new RbacPolicy();
  feed(
    p,
    role('ClusterRole', 'imp', [
      { verbs: ['impersonate'], apiGroups: [''], resources: ['users'], resourceNames: ['bob'] },
      { verbs: ['impersonate'], apiGroups: [''], resources: ['groups'], resourceNames: ['qa'] },
    ]),
    binding('ClusterRoleBinding', 'imp', { kind: 'ClusterRole', name: 'imp' }, [
      { kind: 'User', name: 'alice' },
    ]),
  );
  const authz = union(mastersBypass, p);

  test('acts as the user and groups named, with system:authenticated', () => {
    const u = impersonate(alice, { 'impersonate-user': 'bob', 'impersonate-group': ['qa'] }, authz);
    assert.deepEqual(u, { name: 'bob', groups: ['qa', 'system:authenticated'] });
    assert.equal(impersonate(alice, {}, authz), alice);
  });

  test('refuses users, groups and ServiceAccounts not granted', () => {
    assert.throws(
      () => impersonate(alice, { 'impersonate-user': 'carol' }, authz),
      /users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope/,
    );
    assert.throws(
      () => impersonate(alice, { 'impersonate-user': 'bob', 'impersonate-group': 'system:masters' }, authz),
      /groups "system:masters" is forbidden/,
    );
    assert.throws(
      () => impersonate(alice, { 'impersonate-user': 'system:serviceaccount:n:bot' }, authz),
      /serviceaccounts "bot" is forbidden: .* in the namespace "n"/,
    );
    assert.throws(
      () => impersonate(alice, { 'impersonate-group': 'qa' }, authz),
      /without impersonating a user/,
    );
  });
});

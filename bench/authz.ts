/**
 * bench/authz: the cost of one RBAC decision in process, without HTTP or the datastore: a
 * user allowed by one RoleBinding among N RoleBindings for other users in the same namespace
 * (and N more in other namespaces), the bootstrap policy loaded. Prints; never asserts.
 * Run from the repository: node --import tsx bench/authz.ts [bindings=1000] [decisions=200000]
 */

import type { KubeObject } from '../src/cluster/api/selectors.js';
import { mastersBypass, resourceAttributes, union } from '../src/cluster/apiserver/authz/attributes.js';
import {
  bootstrapClusterRoleBindings,
  bootstrapClusterRoles,
} from '../src/cluster/apiserver/authz/bootstrap-policy.js';
import { RbacPolicy } from '../src/cluster/apiserver/authz/rbac.js';

const bindings = Number(process.argv[2] ?? 1000);
const decisions = Number(process.argv[3] ?? 200_000);
const policy = new RbacPolicy();
let rev = 1;
const put = (o: KubeObject) =>
  policy.apply(o.kind as 'Role', o.metadata?.namespace ?? '', o.metadata?.name ?? '', o, rev++);
for (const o of [...bootstrapClusterRoles(), ...bootstrapClusterRoleBindings()]) put(o);
const rb = (ns: string, name: string, user: string) =>
  put({
    kind: 'RoleBinding',
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:aggregate-to-edit' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  } as KubeObject);
for (let i = 0; i < bindings; i++) {
  rb('default', `other-${i}`, `user-${i}`);
  rb(`ns-${i % 50}`, `far-${i}`, `user-${i}`);
}
rb('default', 'bench', 'bench');
const authz = union(mastersBypass, policy);
const user = { name: 'bench', groups: ['system:authenticated'] };
const cases = {
  'allowed (create configmaps)': resourceAttributes(user, 'create', {
    resource: 'configmaps',
    namespace: 'default',
  }),
  'denied (list nodes)': resourceAttributes(user, 'list', { resource: 'nodes' }),
  'system:masters': resourceAttributes({ name: 'admin', groups: ['system:masters'] }, 'create', {
    resource: 'configmaps',
    namespace: 'default',
  }),
};
for (const [label, a] of Object.entries(cases)) {
  for (let i = 0; i < 10_000; i++) authz.authorize(a);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < decisions; i++) authz.authorize(a);
  const ns = Number(process.hrtime.bigint() - t0) / decisions;
  console.log(
    `${label}: ${(ns / 1000).toFixed(2)} µs per decision (${2 * bindings} RoleBindings, ${decisions} decisions)`,
  );
}

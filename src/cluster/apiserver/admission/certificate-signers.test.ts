// CertificateApproval, CertificateSigning and CertificateSubjectRestriction over the real RBAC
// authorizer and the bootstrap roles: approve and sign are judged per signer (its name or its
// domain's `/*`), a status write that leaves the certificate alone needs nothing more, and
// nobody may ask the kube-apiserver-client signer for system:masters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newKey } from '../../agent/cert-rotation.js';
import type { KubeObject } from '../../api/selectors.js';
import type { ApiError } from '../../api/status.js';
import { makeRequest } from '../../certificates/signers.js';
import { mastersBypass, type UserInfo, union } from '../authz/attributes.js';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from '../authz/bootstrap-policy.js';
import { RbacPolicy } from '../authz/rbac.js';
import { type PolicyRule, rbacGroup } from '../authz/rules.js';
import {
  certificateApprovalAdmission,
  certificateSigningPermissionAdmission,
} from './certificate-signers.js';
import { certificateSubjectRestrictionAdmission } from './certificate-subject-restriction.js';
import { request } from './test-request.js';

const alice: UserInfo = { name: 'alice', groups: ['system:authenticated'] };
let rev = 1;

/** The bootstrap policy plus a ClusterRole with `rules` bound to alice. */
function policyWith(rules: PolicyRule[]): RbacPolicy {
  const p = new RbacPolicy();
  const put = (o: KubeObject) => p.apply(o.kind as 'ClusterRole', '', o.metadata?.name ?? '', o, rev++);
  for (const o of [...bootstrapClusterRoles(), ...bootstrapClusterRoleBindings()]) put(o);
  put({ kind: 'ClusterRole', metadata: { name: 'alice-role' }, rules } as KubeObject);
  put({
    kind: 'ClusterRoleBinding',
    metadata: { name: 'alice-role' },
    roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: 'alice-role' },
    subjects: [{ apiGroup: rbacGroup, kind: 'User', name: 'alice' }],
  } as KubeObject);
  return p;
}

const signers = (verbs: string[], names: string[]): PolicyRule => ({
  verbs,
  apiGroups: ['certificates.k8s.io'],
  resources: ['signers'],
  resourceNames: names,
});

const csr = (signerName: string, status: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'certificates.k8s.io/v1',
  kind: 'CertificateSigningRequest',
  metadata: { name: 'r' },
  spec: { signerName, usages: ['client auth'] },
  status,
});

const approve = (authz: RbacPolicy, signer: string, user = alice) =>
  certificateApprovalAdmission(union(mastersBypass, authz)).validate?.(
    request('certificatesigningrequests', csr(signer), {
      group: 'certificates.k8s.io',
      operation: 'UPDATE',
      subresource: 'approval',
      old: csr(signer),
      user,
    }),
  ) as Promise<void>;

test('approving needs approve on the signer by name or by its domain, worded as upstream', async () => {
  const own = policyWith([signers(['approve'], ['example.com/mine'])]);
  await approve(own, 'example.com/mine');
  await assert.rejects(
    approve(own, 'kubernetes.io/kube-apiserver-client'),
    (e: ApiError) =>
      e.httpCode === 403 &&
      e.message ===
        'certificatesigningrequests.certificates.k8s.io "r" is forbidden: user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"',
  );
  const domain = policyWith([signers(['approve'], ['kubernetes.io/*'])]);
  await approve(domain, 'kubernetes.io/kube-apiserver-client');
  await assert.rejects(approve(domain, 'example.com/mine'), /not permitted to approve/);
  // Upstream's approver role for one signer, and system:masters without any.
  const bound = policyWith([]);
  await assert.rejects(approve(bound, 'kubernetes.io/kubelet-serving'), /not permitted to approve/);
  await approve(bound, 'kubernetes.io/kubelet-serving', { name: 'root', groups: ['system:masters'] });
  // The csrapproving controller's own identity, by its bootstrap role.
  await approve(bound, 'kubernetes.io/kube-apiserver-client-kubelet', {
    name: 'system:serviceaccount:kube-system:certificate-controller',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
  });
});

test('a status write that sets the certificate needs sign on the signer; one that does not, nothing', async () => {
  const authz = policyWith([signers(['sign'], ['example.com/mine'])]);
  const plugin = certificateSigningPermissionAdmission(union(mastersBypass, authz));
  const write = (signer: string, status: Record<string, unknown>) =>
    plugin.validate?.(
      request('certificatesigningrequests', csr(signer, status), {
        group: 'certificates.k8s.io',
        operation: 'UPDATE',
        subresource: 'status',
        old: csr(signer),
        user: alice,
      }),
    ) as Promise<void>;
  await write('example.com/mine', { certificate: 'Y2VydA==' });
  await assert.rejects(
    write('kubernetes.io/kubelet-serving', { certificate: 'Y2VydA==' }),
    /certificatesigningrequests.certificates.k8s.io "r" is forbidden: user not permitted to sign requests with signerName "kubernetes.io\/kubelet-serving"/,
  );
  await write('kubernetes.io/kubelet-serving', { conditions: [{ type: 'Failed', status: 'True' }] });
});

test('the kube-apiserver-client signer may not be asked for system:masters', async () => {
  const plugin = certificateSubjectRestrictionAdmission();
  const key = newKey();
  const create = (signerName: string, orgs: string[]) =>
    plugin.validate?.(
      request(
        'certificatesigningrequests',
        {
          ...csr(signerName),
          spec: {
            signerName,
            usages: ['client auth'],
            request: Buffer.from(makeRequest(key, 'eve', orgs)).toString('base64'),
          },
        },
        { group: 'certificates.k8s.io', user: alice },
      ),
    ) as Promise<void>;
  await assert.rejects(
    create('kubernetes.io/kube-apiserver-client', ['devs', 'system:masters']),
    (e: ApiError) =>
      e.httpCode === 403 &&
      e.message ===
        'certificatesigningrequests.certificates.k8s.io "r" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed',
  );
  await create('kubernetes.io/kube-apiserver-client', ['devs']);
  await create('example.com/mine', ['system:masters']);
});

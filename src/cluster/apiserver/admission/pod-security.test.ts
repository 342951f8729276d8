import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiError } from '../../api/status.js';
import { podSecurityAdmission } from './pod-security.js';
import { pod, request, storeWith } from './test-request.js';

const namespace = (labels: Record<string, string>) =>
  ['namespaces', { metadata: { name: 'ns', labels } }] as [string, never];
const privileged = () => pod('p', [{ name: 'c', securityContext: { privileged: true } }]);
const restricted = () =>
  pod('ok', [
    {
      name: 'c',
      securityContext: {
        allowPrivilegeEscalation: false,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
    },
  ]);

test('restricted enforce refuses a privileged pod with upstream message', async () => {
  const plugin = podSecurityAdmission(
    await storeWith([namespace({ 'pod-security.kubernetes.io/enforce': 'restricted' })]),
  );
  await assert.rejects(plugin.validate?.(request('pods', privileged())) as Promise<void>, (e: ApiError) => {
    assert.equal(e.httpCode, 403);
    assert.equal(
      e.message,
      'pods "p" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    return true;
  });
  await plugin.validate?.(request('pods', restricted()));
});

test('warn lets the pod through with a warning naming the level and version', async () => {
  const plugin = podSecurityAdmission(
    await storeWith([
      namespace({
        'pod-security.kubernetes.io/warn': 'baseline',
        'pod-security.kubernetes.io/warn-version': 'v1.30',
      }),
    ]),
  );
  const req = request(
    'pods',
    pod('h', [{ name: 'a', ports: [{ hostPort: 80 }] }, { name: 'b' }], { hostNetwork: true }),
  );
  await plugin.validate?.(req);
  assert.deepEqual(req.warnings, [
    'would violate PodSecurity "baseline:v1.30": host namespaces (hostNetwork=true), hostPort (container "a" uses hostPort 80)',
  ]);
});

test('a workload under enforce is warned, never refused, for its template', async () => {
  const plugin = podSecurityAdmission(
    await storeWith([namespace({ 'pod-security.kubernetes.io/enforce': 'baseline' })]),
  );
  const deploy = {
    metadata: { name: 'd', namespace: 'ns' },
    spec: { template: { spec: { containers: [{ name: 'c', securityContext: { privileged: true } }] } } },
  };
  const req = request('deployments', deploy, { group: 'apps' });
  await plugin.validate?.(req);
  assert.deepEqual(req.warnings, [
    'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
  ]);
});

test('audit annotates the request with what it would violate; enforce names its policy', async () => {
  const plugin = podSecurityAdmission(
    await storeWith([
      namespace({
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/enforce': 'baseline',
        'pod-security.kubernetes.io/enforce-version': 'v1.31',
      }),
    ]),
  );
  const notes: Record<string, string> = {};
  const req = {
    ...request('pods', pod('plain', [{ name: 'c' }])),
    annotate: (k: string, v: string) => (notes[k] = v),
  };
  await plugin.validate?.(req);
  assert.equal(notes['pod-security.kubernetes.io/enforce-policy'], 'baseline:v1.31');
  assert.match(
    notes['pod-security.kubernetes.io/audit-violations'] ?? '',
    /^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
  );
  assert.deepEqual(req.warnings, []);
});

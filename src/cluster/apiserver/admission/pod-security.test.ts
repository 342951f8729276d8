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

test('a namespace label naming an unknown level or version is refused, as upstream words it', async () => {
  const plugin = podSecurityAdmission(await storeWith([]));
  const ns = (labels: Record<string, string>) => ({ metadata: { name: 'team', labels } });
  await assert.rejects(
    plugin.validate?.(
      request(
        'namespaces',
        ns({
          'pod-security.kubernetes.io/enforce': 'strict',
          'pod-security.kubernetes.io/warn-version': '1.30',
        }),
      ),
    ) as Promise<void>,
    (e: ApiError) =>
      e.httpCode === 422 &&
      e.message ===
        'Namespace "team" is invalid: [metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted, metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "1.30": must be "latest" or of the form "v1.x"]',
  );
  await plugin.validate?.(
    request(
      'namespaces',
      ns({
        'pod-security.kubernetes.io/enforce': 'baseline',
        'pod-security.kubernetes.io/enforce-version': 'v1.32',
      }),
    ),
  );
});

test('a new enforce level warns of the pods already there that it would refuse, grouped as upstream', async () => {
  const host = (name: string) => pod(name, [{ name: 'c' }], { hostNetwork: true });
  const store = await storeWith([
    ['pods', host('b')],
    ['pods', host('a')],
    ['pods', privileged()],
    ['pods', restricted()],
  ]);
  const plugin = podSecurityAdmission(store);
  const update = (before: Record<string, string>, after: Record<string, string>) => {
    const r = request(
      'namespaces',
      { metadata: { name: 'ns', labels: after } },
      { operation: 'UPDATE', old: { metadata: { name: 'ns', labels: before } } },
    );
    return (plugin.validate?.(r) ?? Promise.resolve()).then(() => r.warnings);
  };
  assert.deepEqual(await update({}, { 'pod-security.kubernetes.io/enforce': 'baseline' }), [
    'existing pods in namespace "ns" violate the new PodSecurity enforce level "baseline:latest"',
    'a (and 1 other pods): host namespaces',
    'p: privileged',
  ]);
  // Unchanged, or privileged: nothing to say.
  const same = { 'pod-security.kubernetes.io/enforce': 'baseline' };
  assert.deepEqual(await update(same, { ...same, 'pod-security.kubernetes.io/warn': 'restricted' }), []);
  assert.deepEqual(await update(same, { 'pod-security.kubernetes.io/enforce': 'privileged' }), []);
});

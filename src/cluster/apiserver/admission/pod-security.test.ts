import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiError } from '../../api/status.js';
import { podSecurityAdmission } from './pod-security.js';
import { parsePodSecurityConfiguration } from './pod-security-config.js';
import { pod, request, restrictedContainer, storeWith } from './test-request.js';

const namespace = (labels: Record<string, string>) =>
  ['namespaces', { metadata: { name: 'ns', labels } }] as [string, never];
const privileged = () => pod('p', [{ name: 'c', securityContext: { privileged: true } }]);
const restricted = () => pod('ok', [restrictedContainer]);

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

test("a policy pinned to an older version applies that version's checks", async () => {
  // Fails restricted only for what later versions added: capabilities (1.22), seccomp (1.19),
  // runAsUser=0 (1.23); and a sysctl baseline allowed from 1.29.
  const spec = (extra: Record<string, unknown> = {}) =>
    pod(
      'old',
      [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 0 } }],
      extra,
    );
  const judged = async (version: string, level = 'restricted', extra?: Record<string, unknown>) => {
    const plugin = podSecurityAdmission(
      await storeWith([
        namespace({
          'pod-security.kubernetes.io/warn': level,
          'pod-security.kubernetes.io/warn-version': version,
        }),
      ]),
    );
    const req = request('pods', spec(extra));
    await plugin.validate?.(req);
    return req.warnings.join('\n');
  };
  assert.equal(await judged('v1.18'), '');
  assert.match(await judged('v1.19'), /^would violate PodSecurity "restricted:v1.19": seccompProfile \(/);
  assert.match(await judged('v1.22'), /: unrestricted capabilities \(.*\), seccompProfile \(/);
  assert.doesNotMatch(await judged('v1.22'), /runAsUser=0/);
  assert.match(await judged('latest'), /runAsUser=0 \(container "c" must not set runAsUser=0\)/);
  const sysctl = { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_keepalive_time', value: '60' }] } };
  assert.equal(
    await judged('v1.28', 'baseline', sysctl),
    'would violate PodSecurity "baseline:v1.28": forbidden sysctls (net.ipv4.tcp_keepalive_time)',
  );
  assert.equal(await judged('v1.29', 'baseline', sysctl), '');
});

test('restricted below 1.22 judges capabilities by the baseline check', async () => {
  const plugin = podSecurityAdmission(
    await storeWith([
      namespace({
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'v1.21',
      }),
    ]),
  );
  const caps = pod('caps', [
    {
      name: 'c',
      securityContext: {
        allowPrivilegeEscalation: false,
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
        capabilities: { add: ['SYS_ADMIN'] },
      },
    },
  ]);
  await assert.rejects(
    plugin.validate?.(request('pods', caps)) as Promise<void>,
    /violates PodSecurity "restricted:v1.21": non-default capabilities \(container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add\)$/,
  );
});

test('defaults judge unlabelled namespaces; exempt namespaces, users and runtime classes are not judged', async () => {
  const config = parsePodSecurityConfiguration(
    {
      apiVersion: 'pod-security.admission.config.k8s.io/v1',
      kind: 'PodSecurityConfiguration',
      defaults: { enforce: 'baseline', warn: 'restricted', 'warn-version': 'v1.30' },
      exemptions: { usernames: ['ops'], runtimeClasses: ['kata'], namespaces: ['infra'] },
    },
    'test',
  );
  const plugin = podSecurityAdmission(
    await storeWith([
      namespace({}),
      ['namespaces', { metadata: { name: 'infra' } }] as [string, never],
      [
        'namespaces',
        { metadata: { name: 'open', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
      ] as [string, never],
    ]),
    config,
  );
  await assert.rejects(
    plugin.validate?.(request('pods', privileged())) as Promise<void>,
    /violates PodSecurity "baseline:latest"/,
  );
  const warned = request('pods', restricted());
  await plugin.validate?.(warned);
  assert.deepEqual(warned.warnings, [], 'a restricted pod passes the default warn level');
  const open = request('pods', { ...privileged(), metadata: { name: 'p', namespace: 'open' } });
  await plugin.validate?.(open);
  assert.match(
    open.warnings[0] ?? '',
    /^would violate PodSecurity "restricted:v1.30": privileged/,
    'the label wins over the default',
  );
  const annotations: Record<string, string> = {};
  const exempt = (req: ReturnType<typeof request>) => {
    req.annotate = (k, v) => {
      annotations[k] = v;
    };
    return plugin.validate?.(req);
  };
  await exempt(request('pods', { ...privileged(), metadata: { name: 'p', namespace: 'infra' } }));
  assert.equal(annotations['pod-security.kubernetes.io/exempt'], 'namespace');
  await exempt(request('pods', privileged(), { user: { name: 'ops', groups: [] } }));
  assert.equal(annotations['pod-security.kubernetes.io/exempt'], 'user');
  const kata = privileged();
  (kata.spec as { runtimeClassName?: string }).runtimeClassName = 'kata';
  await exempt(request('pods', kata));
  assert.equal(annotations['pod-security.kubernetes.io/exempt'], 'runtimeClass');
});

test('a bad PodSecurityConfiguration is refused naming the field and value', () => {
  const parse =
    (defaults: Record<string, unknown>, exemptions: Record<string, unknown> = {}) =>
    () =>
      parsePodSecurityConfiguration(
        {
          apiVersion: 'pod-security.admission.config.k8s.io/v1',
          kind: 'PodSecurityConfiguration',
          defaults,
          exemptions,
        },
        'f.yaml',
      );
  assert.throws(parse({ enforce: 'strict' }), {
    message:
      'Invalid PodSecurity configuration in f.yaml: defaults.enforce: Invalid value: "strict": must be one of privileged, baseline, restricted',
  });
  assert.throws(parse({ 'audit-version': '1.30' }), /defaults.audit-version: Invalid value: "1.30"/);
  assert.throws(parse({}, { usernames: 'ops' }), /exemptions.usernames must be a list/);
});

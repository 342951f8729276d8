// Admission end to end: a real berth server with its controllers, a simulated node, the real kubectl.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

describe('admission', () => {
  let c: TestCluster;
  let auditLog: string;
  let box: Sandbox;
  before(async () => {
    box = await sandbox(undefined);
    const policy = join(box.dir, 'policy.yaml');
    auditLog = join(box.dir, 'audit.log');
    writeFileSync(
      policy,
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n  verbs: [create]\n  resources: [{group: "", resources: [pods, pods/binding]}]\n- level: None\n',
    );
    c = await startCluster(undefined, {
      controllers: '*',
      args: ['--audit-policy-file', policy, '--audit-log-path', auditLog],
    });
    await startSim(c, ['--count', '1']);
  });
  after(async () => {
    await c.box.cleanup();
    await box.cleanup();
  });
  const k = async (args: string[], input?: string) => {
    const r = await c.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const json = (args: string[]) => c.json(args);
  /** A namespace whose `default` ServiceAccount exists, so pods may be created in it. */
  const namespace = async (name: string, labels: string[] = []) => {
    await k(['create', 'namespace', name]);
    if (labels.length) await k(['label', 'namespace', name, ...labels]);
    await until(
      `${name}/default`,
      async () => (await c.kubectl(['-n', name, 'get', 'sa', 'default'])).code === 0,
    );
  };
  const podYaml = (name: string, container: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec: {containers: [${container}]}\n`;

  test('a Deployment of 5 under a pods=2 quota ends with 2 pods, FailedCreate events and a log line', async () => {
    await namespace('quota');
    await k(['-n', 'quota', 'create', 'quota', 'pods', '--hard=pods=2']);
    await k(['-n', 'quota', 'create', 'deployment', 'web', '--image=x', '--replicas=5']);
    const failed = async () =>
      (await json(['-n', 'quota', 'get', 'events', '--field-selector', 'reason=FailedCreate'])).items as {
        involvedObject: { kind: string; name: string };
        message: string;
      }[];
    await until('a FailedCreate event', async () => (await failed()).length > 0);
    const ev = (await failed())[0];
    assert.equal(ev?.involvedObject.kind, 'ReplicaSet');
    assert.match(ev?.involvedObject.name ?? '', /^web-/);
    assert.match(
      ev?.message ?? '',
      /is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2/,
    );
    assert.equal((await json(['-n', 'quota', 'get', 'pods'])).items.length, 2);
    await until('the quota status', async () => {
      const q = await json(['-n', 'quota', 'get', 'quota', 'pods']);
      return q.status?.used?.pods === '2' && q.status?.hard?.pods === '2';
    });
    // The controller's failed sync leaves a line naming the ReplicaSet and the refusal.
    const rsKey = `quota/${ev?.involvedObject.name}`;
    assert.ok(
      c
        .serverLog()
        .split('\n')
        .some((l) => l.includes(JSON.stringify(rsKey)) && l.includes('exceeded quota')),
      `a log line about ${rsKey}`,
    );
    // Freed by deletion: the controller gives back what the pod held (unless the ReplicaSet,
    // retrying with back-off, has already taken it for a replacement).
    const first = (await json(['-n', 'quota', 'get', 'pods'])).items[0].metadata.name as string;
    await k(['-n', 'quota', 'delete', 'pod', first, '--wait=false']);
    await until('the quota given back', async () => {
      const used = (await json(['-n', 'quota', 'get', 'quota', 'pods'])).status.used.pods;
      const names = (await json(['-n', 'quota', 'get', 'pods'])).items.map(
        (p: { metadata: { name: string } }) => p.metadata.name,
      );
      return !names.includes(first) && String(names.length) === used;
    });
  });

  test('LimitRange defaults appear on a pod; a pod over max is refused', async () => {
    await namespace('limits');
    await k(
      ['-n', 'limits', 'apply', '-f', '-'],
      `apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 64Mi}
    defaultRequest: {cpu: 100m}
    max: {cpu: "1"}
`,
    );
    // Stored with upstream's defaulting: a missing defaultRequest is the default.
    const lr = await json(['-n', 'limits', 'get', 'limitrange', 'lr']);
    assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '100m', memory: '64Mi' });
    await k(['-n', 'limits', 'apply', '-f', '-'], podYaml('small', '{name: c, image: x}'));
    const p = await json(['-n', 'limits', 'get', 'pod', 'small']);
    assert.deepEqual(p.spec.containers[0].resources, {
      limits: { cpu: '200m', memory: '64Mi' },
      requests: { cpu: '100m', memory: '64Mi' },
    });
    assert.match(
      p.metadata.annotations['kubernetes.io/limit-ranger'],
      /LimitRanger plugin set: cpu, memory request/,
    );
    const big = await c.kubectl(['-n', 'limits', 'apply', '-f', '-'], {
      input: podYaml('big', '{name: c, image: x, resources: {limits: {cpu: "2"}}}'),
    });
    assert.notEqual(big.code, 0);
    assert.match(big.stderr, /pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2/);
  });

  test('Pod Security: restricted enforce refuses a privileged pod; warn lets it in with a warning', async () => {
    const privileged = podYaml('root', '{name: c, image: x, securityContext: {privileged: true}}');
    await namespace('locked', ['pod-security.kubernetes.io/enforce=restricted']);
    const refused = await c.kubectl(['-n', 'locked', 'apply', '-f', '-'], { input: privileged });
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /Error from server \(Forbidden\): error when creating "STDIN": pods "root" is forbidden: violates PodSecurity "restricted:latest": privileged \(container "c" must not set securityContext.privileged=true\), allowPrivilegeEscalation != false/,
    );
    await namespace('watched', [
      'pod-security.kubernetes.io/warn=baseline',
      'pod-security.kubernetes.io/warn-version=v1.32',
    ]);
    const warned = await k(['-n', 'watched', 'apply', '-f', '-'], privileged);
    assert.match(
      warned.stderr,
      /Warning: would violate PodSecurity "baseline:v1.32": privileged \(container "c" must not set securityContext.privileged=true\)/,
    );
  });

  test('a pod runs as its ServiceAccount with the projected API access volume; a missing one is refused', async () => {
    await k(['apply', '-f', '-'], podYaml('sa-pod', '{name: c, image: x}'));
    const p = await json(['get', 'pod', 'sa-pod']);
    assert.equal(p.spec.serviceAccountName, 'default');
    const vol = p.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol?.projected, JSON.stringify(p.spec.volumes));
    assert.deepEqual(p.spec.containers[0].volumeMounts, [
      { name: vol.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
    ]);
    const ghost = await c.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: v1\nkind: Pod\nmetadata: {name: g}\nspec: {serviceAccountName: ghost, containers: [{name: c, image: x}]}\n`,
    });
    assert.notEqual(ghost.code, 0);
    assert.match(
      ghost.stderr,
      /error looking up service account default\/ghost: serviceaccount "ghost" not found/,
    );
  });

  test('JSON nested 10,001 levels is a 400, 10,000 is kept; a server dry run checks the namespace', async () => {
    const file = join(c.box.dir, 'deep.json');
    const depth = 10_001;
    writeFileSync(
      file,
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`,
    );
    const deep = await c.kubectl(['create', '--raw', '/api/v1/namespaces/default/configmaps', '-f', file]);
    assert.notEqual(deep.code, 0);
    assert.match(deep.stderr, /BadRequest|exceeded max depth of 10000/);
    // At the limit, a custom resource that keeps unknown fields is stored and read back whole.
    await k(
      ['apply', '-f', '-'],
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: deeps.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: deeps, singular: deep, kind: Deep}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
`,
    );
    const arrays = 10_000 - 2;
    const nested = `${'['.repeat(arrays)}${']'.repeat(arrays)}`;
    writeFileSync(
      file,
      `{"apiVersion":"example.com/v1","kind":"Deep","metadata":{"name":"d"},"spec":{"x":${nested}}}`,
    );
    const path = '/apis/example.com/v1/namespaces/default/deeps';
    await until('the CRD is served', async () => (await c.kubectl(['get', '--raw', path])).code === 0);
    await k(['create', '--raw', path, '-f', file]);
    const back = (await k(['get', '--raw', `${path}/d`])).stdout;
    assert.ok(back.includes(`"spec":{"x":${nested}}`), 'the nesting read back whole');
    const dry = await c.kubectl(['-n', 'nowhere', 'create', 'configmap', 'x', '--dry-run=server']);
    assert.notEqual(dry.code, 0);
    assert.match(dry.stderr, /namespaces "nowhere" not found/);
  });

  test("a controller's own identity may do what its role allows and nothing else", async () => {
    const rsController = 'system:serviceaccount:kube-system:replicaset-controller';
    const as = (args: string[]) => c.kubectl([...args, '--as', rsController]);
    assert.equal((await as(['auth', 'can-i', 'create', 'pods', '-n', 'quota'])).stdout.trim(), 'yes');
    const secrets = await as(['-n', 'quota', 'get', 'secrets']);
    assert.notEqual(secrets.code, 0);
    assert.match(
      secrets.stderr,
      /secrets is forbidden: User "system:serviceaccount:kube-system:replicaset-controller" cannot list resource "secrets" in API group "" in the namespace "quota"/,
    );
    assert.equal((await as(['auth', 'can-i', 'delete', 'deployments', '-n', 'quota'])).stdout.trim(), 'no');
    const binding = await json(['get', 'clusterrolebinding', 'system:controller:replicaset-controller']);
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'replicaset-controller', namespace: 'kube-system' },
    ]);
  });

  test("the scheduler, eventttl and the controller manager have only their roles' rights, and pods are still scheduled", async () => {
    const can = async (user: string, ...args: string[]) =>
      (await c.kubectl(['auth', 'can-i', ...args, '--as', user])).stdout.trim();
    const scheduler = 'system:kube-scheduler';
    // Upstream's system:kube-scheduler and system:volume-scheduler: bind, preempt, bind volumes, its own Lease.
    for (const args of [
      ['create', 'pods', '--subresource', 'binding', '-n', 'quota'],
      ['delete', 'pods', '-n', 'quota'],
      ['update', 'persistentvolumes'],
      ['patch', 'persistentvolumeclaims', '-n', 'quota'],
      ['update', 'leases/kube-scheduler', '-n', 'kube-system'],
    ])
      assert.equal(await can(scheduler, ...args), 'yes', args.join(' '));
    for (const args of [
      ['create', 'pods', '-n', 'quota'],
      ['update', 'leases/berth-controller-manager', '-n', 'kube-system'],
      ['delete', 'nodes'],
    ])
      assert.equal(await can(scheduler, ...args), 'no', args.join(' '));
    const secrets = await c.kubectl(['-n', 'quota', 'get', 'secrets', '--as', scheduler]);
    assert.notEqual(secrets.code, 0);
    assert.match(
      secrets.stderr,
      /secrets is forbidden: User "system:kube-scheduler" cannot list resource "secrets" in API group "" in the namespace "quota"/,
    );
    // The event sweep lists and deletes events, and nothing else.
    const eventTtl = 'system:serviceaccount:kube-system:event-ttl-controller';
    assert.equal(await can(eventTtl, 'delete', 'events', '-A'), 'yes');
    assert.equal(await can(eventTtl, 'get', 'secrets', '-n', 'quota'), 'no');
    assert.equal(await can(eventTtl, 'delete', 'pods', '-n', 'quota'), 'no');
    // The controller manager itself only watches (its controllers write as themselves) and holds its Lease.
    const kcm = 'system:kube-controller-manager';
    assert.equal(await can(kcm, 'watch', 'secrets', '-A'), 'yes');
    assert.equal(await can(kcm, 'update', 'leases/berth-controller-manager', '-n', 'kube-system'), 'yes');
    assert.equal(await can(kcm, 'create', 'pods', '-n', 'quota'), 'no');
    assert.equal(await can(kcm, 'delete', 'secrets', '-n', 'quota'), 'no');
    // Scheduling works under those rights: the quota test's pods were bound to the simulated node.
    await until('the quota pods bound to the node', async () => {
      const pods = (await json(['-n', 'quota', 'get', 'pods'])).items as { spec: { nodeName?: string } }[];
      return pods.length > 0 && pods.every((p) => p.spec.nodeName);
    });
  });

  // Last: it stops the server, so that the audit log is complete.
  test('Pod Security audit mode annotates the audit event of a pod that would violate it; controllers write as themselves', async () => {
    await namespace('audited', ['pod-security.kubernetes.io/audit=restricted']);
    await k(['-n', 'audited', 'apply', '-f', '-'], podYaml('plain', '{name: c, image: x}'));
    await c.stop('SIGTERM');
    const events = readFileSync(auditLog, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            verb?: string;
            user?: { username?: string };
            objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
            annotations?: Record<string, string>;
          },
      );
    // The Deployment's pods were created by the ReplicaSet controller as its own identity.
    const made = events.find(
      (e) =>
        e.verb === 'create' &&
        e.objectRef?.resource === 'pods' &&
        !e.objectRef.subresource &&
        e.objectRef.namespace === 'quota',
    );
    assert.equal(made?.user?.username, 'system:serviceaccount:kube-system:replicaset-controller');
    // ...and bound to the node by the scheduler as its own.
    const bound = events.find(
      (e) =>
        e.verb === 'create' && e.objectRef?.subresource === 'binding' && e.objectRef.namespace === 'quota',
    );
    assert.equal(bound?.user?.username, 'system:kube-scheduler');
    const ev = events.find((e) => e.objectRef?.namespace === 'audited' && e.objectRef?.name === 'plain');
    assert.match(
      ev?.annotations?.['pod-security.kubernetes.io/audit-violations'] ?? '',
      /^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
  });
});

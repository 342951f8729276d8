// The real kubectl (1.32) against a real `berth server --disable-agent`: one server shared by every case.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signServiceAccountToken } from '../src/cluster/apiserver/service-account-token.js';
import { run } from '../src/core/exec.js';
import { startCluster, type TestCluster, until } from './helpers/cluster.js';
import { berthBin } from './helpers/sandbox.js';

const deployment = (replicas: number, image = 'busybox:1.36') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: ${image}
        env: [{name: A, value: "1"}]
`;

describe('kubectl against berth server', () => {
  let c: TestCluster;
  const ok = (args: string[], input?: string) => c.ok(args, input);
  before(async () => {
    // The namespace controller empties a deleted namespace; nothing else runs.
    c = await startCluster(undefined, { controllers: 'namespace,serviceaccount' });
  });
  after(() => c?.box.cleanup());

  test('anonymous requests get a 401 Status; health is open', async () => {
    const r = await run('curl', ['-sk', `https://127.0.0.1:${c.port}/api/v1/pods`]);
    const st = JSON.parse(r.stdout);
    assert.equal(st.kind, 'Status');
    assert.equal(st.code, 401);
    const h = await run('curl', ['-sk', `https://127.0.0.1:${c.port}/readyz`]);
    assert.equal(h.stdout, 'ok');
  });

  test('client certificates, the admin token, ServiceAccount JWTs and the node token authenticate', async () => {
    const tls = join(c.dataDir, 'tls');
    const base = `https://127.0.0.1:${c.port}`;
    // Every identity may read discovery; what else each may do is RBAC's (apiserver-rbac.test.ts).
    const code = async (args: string[], url = `${base}/api/v1/namespaces`) =>
      (
        await run('curl', [
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--cacert',
          join(tls, 'ca.crt'),
          ...args,
          url,
        ])
      ).stdout;
    assert.equal(await code(['--cert', join(tls, 'admin.crt'), '--key', join(tls, 'admin.key')]), '200');
    assert.equal(
      await code(['-H', `Authorization: Bearer ${readFileSync(join(tls, 'admin-token'), 'utf8').trim()}`]),
      '200',
    );
    // The join secret authenticates as a bootstrapper (403, not 401): it joins, and each node
    // then acts under its own certificate (docs/agent.md).
    assert.equal(
      await code(
        ['-H', `Authorization: Bearer ${readFileSync(join(tls, 'node-token'), 'utf8').trim()}`],
        `${base}/api/v1/nodes`,
      ),
      '403',
    );
    const jwt = signServiceAccountToken(readFileSync(join(tls, 'service-account.key'), 'utf8'), {
      namespace: 'default',
      name: 'default',
      uid: (await ok(['get', 'sa', 'default', '-o', 'jsonpath={.metadata.uid}'])).trim(),
    });
    assert.equal(await code(['-H', `Authorization: Bearer ${jwt}`], `${base}/api`), '200');
    assert.equal(await code(['-H', `Authorization: Bearer ${jwt}`]), '403');
    assert.equal(await code(['-H', `Authorization: Bearer ${jwt.slice(0, -4)}AAAA`], `${base}/api`), '401');
    const issued = (await ok(['create', 'token', 'default'])).trim();
    assert.equal(await code(['-H', `Authorization: Bearer ${issued}`], `${base}/api`), '200');
    assert.equal((await ok(['auth', 'can-i', 'get', 'pods'])).trim(), 'yes');
    assert.match(await ok(['auth', 'whoami']), /admin/);
  });

  test('berth kubeconfig prints the admin kubeconfig; system namespaces exist', async () => {
    const r = await run(berthBin, ['kubeconfig', '--data-dir', c.dataDir]);
    assert.match(r.stdout, /certificate-authority-data/);
    const ns = await ok(['get', 'ns', '-o', 'jsonpath={.items[*].metadata.name}']);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      assert.ok(ns.split(' ').includes(n), ns);
  });

  test('apply, re-apply, get -o wide/json/jsonpath, scale, label, annotate, patch', async () => {
    assert.match(await ok(['apply', '-f', '-'], deployment(2)), /deployment.apps\/web created/);
    assert.match(await ok(['apply', '-f', '-'], deployment(2)), /unchanged/);
    assert.match(await ok(['apply', '-f', '-'], deployment(3)), /configured/);
    const wide = await ok(['get', 'deploy', '-o', 'wide']);
    assert.match(wide, /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /web\s+0\/3/);
    const d = JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.metadata.generation, 2);
    assert.ok(d.metadata.uid);
    await ok(['scale', 'deploy', 'web', '--replicas=5']);
    await ok(['label', 'deploy', 'web', 'tier=fe']);
    await ok(['annotate', 'deploy', 'web', 'note=x']);
    assert.match(await ok(['get', 'deploy', '-l', 'tier in (fe,be)', '-o', 'name']), /deployment.apps\/web/);
    assert.equal(await ok(['get', 'deploy', '-l', 'tier!=fe', '-o', 'name']), '');
    await ok([
      'patch',
      'deploy',
      'web',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}}}',
    ]);
    await ok([
      'patch',
      'deploy',
      'web',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/replicas","value":1}]',
    ]);
    await ok(['patch', 'deploy', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}']);
    const after = JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(after.spec.replicas, 1);
    assert.equal(after.spec.template.spec.containers[0].image, 'busybox:2');
    assert.deepEqual(after.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }]);
    assert.equal(after.metadata.labels.m, '1');
    assert.equal(after.metadata.annotations.note, 'x');
    // kubectl-patch owns spec.replicas now: applying another value conflicts until forced.
    const clash = await c.kubectl(['apply', '--server-side', '-f', '-'], { input: deployment(4) });
    assert.notEqual(clash.code, 0);
    assert.match(
      clash.stderr,
      /Apply failed with \d+ conflicts?: conflict with "kubectl-patch" using apps\/v1: \.spec\.replicas/,
    );
    assert.match(
      await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], deployment(4)),
      /serverside-applied/,
    );
    assert.equal(await ok(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}']), '4');
    const ssa = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {${data}}\n`;
    await ok(['apply', '--server-side', '-f', '-'], ssa('a: "1", b: "2"'));
    await ok(['apply', '--server-side', '-f', '-'], ssa('a: "3"'));
    assert.equal(await ok(['get', 'cm', 'ssa', '-o', 'jsonpath={.data}']), '{"a":"3"}');
    assert.match(
      await ok(['get', 'cm', 'ssa', '--show-managed-fields', '-o', 'yaml']),
      /manager: kubectl\n\s+operation: Apply/,
    );
  });

  test('create (typed, protobuf) and apply of a directory; get -A and field selectors', async () => {
    await ok(['create', 'configmap', 'cm1', '--from-literal=a=b']);
    await ok(['create', 'namespace', 'team']);
    // Pods run as the namespace's `default` ServiceAccount, which its controller makes.
    await until(
      'the default ServiceAccount',
      async () => (await c.kubectl(['-n', 'team', 'get', 'sa', 'default'])).code === 0,
    );
    await ok(['-n', 'team', 'create', 'secret', 'generic', 's1', '--from-literal=x=y']);
    await ok(['-n', 'team', 'create', 'deployment', 'dd', '--image=nginx:1.2', '--port=80', '--replicas=2']);
    const dd = JSON.parse(await ok(['-n', 'team', 'get', 'deploy', 'dd', '-o', 'json']));
    assert.equal(dd.spec.replicas, 2);
    assert.deepEqual(dd.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
    await ok(['-n', 'team', 'create', 'service', 'clusterip', 'svc1', '--tcp=80:8080']);
    assert.match(await ok(['-n', 'team', 'get', 'svc', 'svc1']), /svc1\s+ClusterIP\s+10\.43\.\d+\.\d+\s/);
    assert.match(
      await ok(['get', 'svc', 'kubernetes']),
      /kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443\/TCP/,
    );
    // More typed creates kubectl sends as protobuf: quota, ingress (inlined rule values), priorityclass.
    // In a namespace of its own: quota admission enforces it on everything created there.
    await ok(['create', 'namespace', 'quotas']);
    await ok(['-n', 'quotas', 'create', 'quota', 'q1', '--hard=pods=10,requests.cpu=2']);
    assert.deepEqual(
      JSON.parse(await ok(['-n', 'quotas', 'get', 'quota', 'q1', '-o', 'jsonpath={.spec.hard}'])),
      {
        pods: '10',
        'requests.cpu': '2',
      },
    );
    await ok(['-n', 'team', 'create', 'ingress', 'ing1', '--rule=web.example/api*=svc1:80,tls=web-tls']);
    const ing = JSON.parse(await ok(['-n', 'team', 'get', 'ingress', 'ing1', '-o', 'json']));
    assert.deepEqual(ing.spec.rules, [
      {
        host: 'web.example',
        http: {
          paths: [
            {
              path: '/api',
              pathType: 'Prefix',
              backend: { service: { name: 'svc1', port: { number: 80 } } },
            },
          ],
        },
      },
    ]);
    assert.deepEqual(ing.spec.tls, [{ hosts: ['web.example'], secretName: 'web-tls' }]);
    await ok(['create', 'priorityclass', 'zero', '--value=0', '--description=nothing special']);
    const pc = JSON.parse(await ok(['get', 'priorityclass', 'zero', '-o', 'json']));
    assert.deepEqual(
      [pc.value, pc.description, pc.preemptionPolicy],
      [0, 'nothing special', 'PreemptLowerPriority'],
    );
    const dir = join(c.box.dir, 'manifests');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'a.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-dir, namespace: team}\ndata: {k: v}\n',
    );
    writeFileSync(
      join(dir, 'b.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: team, labels: {app: a}}\nspec: {containers: [{name: c, image: busybox}]}\n',
    );
    await ok(['apply', '-f', dir]);
    const all = await ok(['get', 'cm', '-A']);
    assert.match(all, /team\s+from-dir/);
    assert.match(all, /default\s+cm1/);
    assert.equal(
      await ok(['-n', 'team', 'get', 'secret', 's1', '-o', 'jsonpath={.data.x}']),
      Buffer.from('y').toString('base64'),
    );
    assert.match(
      await ok(['get', 'pods', '-A', '--field-selector', 'status.phase=Pending,metadata.namespace=team']),
      /p1/,
    );
    const bad = await c.kubectl(['get', 'cm', '--field-selector', 'spec.nodeName=x']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /field label not supported: spec.nodeName/);
  });

  test('get -w streams changes; wait --for=condition; edit with EDITOR', async () => {
    const watcher = c.box.spawn('kubectl', ['-n', 'team', 'get', 'pods', '-w'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: c.kubectlEnv,
    });
    let out = '';
    watcher.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    watcher.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const p1Lines = () => (out.match(/^p1\s/gm) ?? []).length;
    // The first line is the list; the watch goes on from that list's resourceVersion, so the label
    // made after it is always seen.
    await until(
      () => `the watch lists p1: ${out}`,
      async () => p1Lines() >= 1,
    );
    await ok(['-n', 'team', 'label', 'pod', 'p1', 'watched=yes']);
    await until(
      () => `the watch shows p1 again after the label: ${out}`,
      async () => p1Lines() >= 2,
    );
    watcher.kill();
    await ok([
      '-n',
      'team',
      'patch',
      'pod',
      'p1',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}',
    ]);
    assert.match(
      await ok(['-n', 'team', 'wait', '--for=condition=Ready', 'pod/p1', '--timeout=10s']),
      /condition met/,
    );
    const editor = join(c.box.dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/app: a$/app: edited/" "$1"\n');
    chmodSync(editor, 0o755);
    const r = await c.kubectl(['-n', 'team', 'edit', 'pod', 'p1'], { env: { EDITOR: editor } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      await ok(['-n', 'team', 'get', 'pod', 'p1', '-o', 'jsonpath={.metadata.labels.app}']),
      'edited',
    );
  });

  test('bad input: invalid names and fields are 422, unknown fields under Strict 400, nothing stored', async () => {
    const bad = await c.kubectl(['apply', '-f', '-'], {
      input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c}]}\n',
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /The Pod "Bad_Name" is invalid/);
    assert.match(bad.stderr, /spec.containers\[0\].image: Required value/);
    const strict = await c.kubectl(['apply', '-f', '-'], {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict}\nfoo: 1\n',
    });
    assert.match(strict.stderr, /strict decoding error: unknown field "foo"/);
    const nested = await c.kubectl(['apply', '-f', '-'], {
      input: deployment(1).replace('name: web', 'name: nested').replace('image:', 'imagee:'),
    });
    assert.match(
      nested.stderr,
      /Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers\[0\].imagee"/,
    );
    assert.equal((await c.kubectl(['get', 'deploy', 'nested'])).code, 1);
    // Every workload kind is checked to the depth of its pod template, and a manifest using
    // their full set of fields is accepted.
    const workloads = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: st}
spec:
  replicas: 0
  serviceName: st
  podManagementPolicy: Parallel
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}
  revisionHistoryLimit: 3
  minReadySeconds: 1
  ordinals: {start: 0}
  selector: {matchLabels: {app: st}}
  template:
    metadata: {labels: {app: st}}
    spec: {containers: [{name: c, image: busybox}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "*/5 * * * *"
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 60
  suspend: true
  successfulJobsHistoryLimit: 1
  failedJobsHistoryLimit: 1
  jobTemplate:
    metadata: {labels: {app: cj}}
    spec:
      completions: 1
      parallelism: 1
      backoffLimit: 2
      completionMode: NonIndexed
      ttlSecondsAfterFinished: 60
      activeDeadlineSeconds: 600
      podReplacementPolicy: TerminatingOrFailed
      template:
        spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
`;
    await ok(['apply', '-f', '-'], workloads);
    const typo = await c.kubectl(['apply', '-f', '-'], {
      input: workloads
        .replace('name: st}', 'name: st2}')
        .replace('restartPolicy: Never', 'restartPolcy: Never'),
    });
    assert.match(
      typo.stderr,
      /CronJob in version "v1" cannot be handled as a CronJob: strict decoding error: unknown field "spec.jobTemplate.spec.template.spec.restartPolcy"/,
    );
    await ok(['delete', 'sts/st', 'sts/st2', 'cronjob/cj', '--ignore-not-found']);
    const sel = await c.kubectl(['apply', '-f', '-'], {
      input: deployment(1)
        .replace('name: web', 'name: mismatch')
        .replace(
          'template:\n    metadata: {labels: {app: web}}',
          'template:\n    metadata: {labels: {app: other}}',
        ),
    });
    assert.match(sel.stderr, /selector` does not match template `labels`/);
    const unknownKind = await c.kubectl(['apply', '-f', '-'], {
      input: 'apiVersion: v9\nkind: Nope\nmetadata: {name: x}\n',
    });
    assert.match(unknownKind.stderr, /no matches for kind "Nope" in version "v9"/);
    const nf = await c.kubectl(['get', 'pod', 'nope']);
    assert.match(nf.stderr, /Error from server \(NotFound\): pods "nope" not found/);
    assert.equal((await c.kubectl(['get', 'cm', 'strict'])).code, 1);
    assert.equal((await c.kubectl(['get', 'deploy', 'mismatch'])).code, 1);
  });

  test('api-resources, explain, CRD and custom resources', async () => {
    // A cold cache: kubectl discovers everything through aggregated discovery (two GETs).
    const cold = await c.kubectl(['api-resources', '-v=6', '--cache-dir', `${c.dataDir}/kcache`]);
    assert.equal(cold.code, 0, cold.stderr);
    const gets = cold.stderr.match(/GET https:\S+/g) ?? [];
    assert.deepEqual(
      gets.map((g) => new URL(g.slice(4)).pathname),
      ['/api', '/apis'],
      `discovery requests: ${gets.join(', ')}`,
    );
    const ar = await ok(['api-resources']);
    assert.match(ar, /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    assert.match(ar, /horizontalpodautoscalers\s+hpa\s+autoscaling\/v2/);
    assert.match(await ok(['explain', 'deployment']), /KIND:\s+Deployment/);
    assert.match(await ok(['explain', 'pod.spec.containers']), /image\s+<string>/);
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns: [{name: Size, type: string, jsonPath: .spec.size}]
`;
    await ok(['apply', '-f', '-'], crd);
    await ok(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=10s']);
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: big}\n',
    );
    assert.match(await ok(['get', 'wd']), /NAME\s+SIZE\s+AGE\nw1\s+big/);
    await ok(['delete', 'crd', 'widgets.example.com']);
    await ok(['apply', '-f', '-'], crd);
    await ok(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=10s']);
    assert.equal(await ok(['get', 'widgets', '-o', 'name']), '');
  });

  test('a CRD that would shadow a built-in is refused with field causes; Deployments stay', async () => {
    await ok(['create', 'deployment', 'kept', '--image=x', '--replicas=0']);
    const shadow = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: deployments.apps}
spec:
  group: apps
  scope: Namespaced
  names: {kind: Deployment, plural: deployments}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
`;
    const bad = await c.kubectl(['apply', '-f', '-'], { input: shadow });
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /The CustomResourceDefinition "deployments\.apps" is invalid: \n\* spec\.group: Invalid value: "apps": should be a domain with at least one dot\n\* spec\.group: Forbidden: the API server serves the group "apps" itself/,
    );
    assert.equal((await c.kubectl(['get', 'crd', 'deployments.apps'])).code, 1);
    assert.match(await ok(['get', 'deployments', '-o', 'name']), /deployment\.apps\/kept/);
  });

  test('events print with upstream columns and select by involvedObject', async () => {
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Event\nmetadata: {name: e1}\ninvolvedObject: {kind: Pod, name: p9, namespace: default}\nreason: Started\nmessage: hello\ntype: Normal\n',
    );
    assert.match(
      await ok(['get', 'events']),
      /LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n\S+\s+Normal\s+Started\s+pod\/p9\s+hello/,
    );
    assert.equal(
      await ok(['get', 'events', '--field-selector', 'involvedObject.name=p9', '-o', 'name']),
      'event/e1\n',
    );
  });

  test('server-side dry run stores nothing; diff shows the change', async () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\ndata: {a: b}\n';
    assert.match(await ok(['apply', '--dry-run=server', '-f', '-'], cm), /server dry run/);
    assert.equal((await c.kubectl(['get', 'cm', 'dry'])).code, 1);
    await ok(['apply', '-f', '-'], cm);
    const file = join(c.box.dir, 'dry.yaml');
    writeFileSync(file, cm.replace('a: b', 'a: c'));
    const diff = await c.kubectl(['diff', '-f', file]);
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, /-\s+a: b\n\+\s+a: c/);
    assert.doesNotMatch(diff.stdout, /generation/);
    assert.equal(await ok(['get', 'cm', 'dry', '-o', 'jsonpath={.data.a}']), 'b');
  });

  test('delete, including a namespace with its contents', async () => {
    assert.match(await ok(['delete', 'deploy', 'web']), /deleted/);
    await ok(['delete', 'ns', 'team', '--wait']);
    assert.equal((await c.kubectl(['get', 'ns', 'team'])).code, 1);
    assert.equal(await ok(['get', 'pods', '-A', '-o', 'name']), '');
  });
});

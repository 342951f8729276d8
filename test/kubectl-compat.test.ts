// What a user of the real kubectl sees against `berth server` with its embedded agent running
// real pods (busybox on runc), compared with what Kubernetes prints: one cluster for every case.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startAgentCluster, type TestCluster, until } from './helpers/cluster.js';

describe('kubectl as a user drives it', () => {
  let c: TestCluster;
  before(async () => {
    c = await startAgentCluster(undefined);
  });
  after(() => c?.box.cleanup());
  const ok = (args: string[], input?: string) => c.ok(args, input);
  /** The row of `kubectl get ARGS` whose first cell is `name`, split into cells. */
  const row = async (args: string[], name: string) =>
    (await ok(args))
      .split('\n')
      .find((l) => l.split(/\s+/)[0] === name)
      ?.split(/\s{2,}/) ?? [];

  test('a Job whose pod ends at once completes; get jobs and get pods print as upstream', async () => {
    // The container ends before the agent's next look at its containers: that exit counts.
    await ok(['create', 'job', 'quick', '--image=busybox:local', '--', 'sh', '-c', 'echo done']);
    await ok(['wait', '--for=condition=complete', 'job/quick', '--timeout=60s']);
    const header = (await ok(['get', 'jobs', '-o', 'wide'])).split('\n')[0] ?? '';
    assert.match(header, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
    const job = await row(['get', 'jobs'], 'quick');
    assert.equal(job[1], 'Complete');
    assert.equal(job[2], '1/1');
    assert.match(job[3] ?? '', /^\d+s$/);
    const pods = await ok(['get', 'pods', '-l', 'job-name=quick']);
    assert.match(pods, /quick-\S+\s+0\/1\s+Completed\s+0\s/);
    assert.equal((await ok(['logs', 'job/quick'])).trim(), 'done');
  });

  test('init containers show as Init:N/M, then Init:Error when one fails', async () => {
    const pod = (name: string, initCommand: string[]) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        initContainers: [
          { name: 'setup', image: 'busybox:local', imagePullPolicy: 'IfNotPresent', command: initCommand },
        ],
        containers: [
          { name: 'main', image: 'busybox:local', imagePullPolicy: 'IfNotPresent', command: ['true'] },
        ],
      },
    });
    await c.apply(pod('init-waits', ['sleep', '1000']), pod('init-fails', ['sh', '-c', 'exit 3']));
    await until(
      'init-waits shows Init:0/1',
      async () => (await row(['get', 'pods'], 'init-waits'))[2] === 'Init:0/1',
    );
    await until(
      'init-fails shows Init:Error',
      async () => (await row(['get', 'pods'], 'init-fails'))[2] === 'Init:Error',
    );
    assert.equal((await row(['get', 'pods'], 'init-fails'))[1], '0/1');
    await ok(['delete', 'pod', 'init-waits', 'init-fails', '--wait=false']);
  });

  test('a cordoned node reads Ready,SchedulingDisabled; -o wide has the node info columns; describe lists node events', async () => {
    await ok(['cordon', 'n1']);
    try {
      const wide = await ok(['get', 'nodes', '-o', 'wide']);
      assert.match(
        wide.split('\n')[0] ?? '',
        /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME$/,
      );
      const n1 = await row(['get', 'nodes', '-o', 'wide'], 'n1');
      assert.equal(n1[1], 'Ready,SchedulingDisabled');
      assert.equal(n1[6], '<none>');
      assert.match(n1[9] ?? '', /^berth:\/\//);
    } finally {
      await ok(['uncordon', 'n1']);
    }
    assert.equal((await row(['get', 'nodes'], 'n1'))[1], 'Ready');
    // describe node lists the kubelet's and the node controller's events, the cordon's too.
    await until('node events', async () => {
      const events = (await ok(['describe', 'node', 'n1'])).split(/^Events:/m)[1] ?? '';
      return [
        /RegisteredNode\s.*node-controller\s+Node n1 event: Registered Node n1 in Controller/,
        /Starting\s.*kubelet\s+Starting kubelet\./,
        /NodeHasSufficientMemory\s.*Node n1 status is now: NodeHasSufficientMemory/,
        /NodeReady\s.*Node n1 status is now: NodeReady/,
        /NodeNotSchedulable\s.*Node n1 status is now: NodeNotSchedulable/,
        /NodeSchedulable\s.*Node n1 status is now: NodeSchedulable/,
      ].every((re) => re.test(events));
    });
  });

  test('a Deployment records each scale of its ReplicaSet once', async () => {
    await ok([
      'create',
      'deployment',
      'once',
      '--image=busybox:local',
      '--replicas=2',
      '--',
      'sleep',
      '1000',
    ]);
    await ok(['rollout', 'status', 'deploy/once', '--timeout=60s']);
    const events = await c.json([
      'get',
      'events',
      '--field-selector',
      'involvedObject.kind=Deployment,involvedObject.name=once,reason=ScalingReplicaSet',
    ]);
    assert.deepEqual(
      events.items.map((e: { message: string; count: number }) => [
        e.message.replace(/once-\S+/, 'RS'),
        e.count,
      ]),
      [['Scaled up replica set RS from 0 to 2', 1]],
    );
    const wide = await row(['get', 'deploy', '-o', 'wide'], 'once');
    assert.deepEqual(wide.slice(5), ['busybox', 'busybox:local', 'app=once']);
    const slices = await ok(['get', 'endpointslices', '-n', 'default']);
    assert.match(slices.split('\n')[0] ?? '', /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE$/);
    await ok(['delete', 'deployment', 'once']);
  });

  test("the controllers' ServiceAccounts are in kube-system, and one deleted comes back", async () => {
    const names = async () => (await ok(['get', 'sa', '-n', 'kube-system', '-o', 'name'])).split('\n');
    await until('controller ServiceAccounts', async () => {
      const have = await names();
      return [
        'replicaset-controller',
        'deployment-controller',
        'job-controller',
        'namespace-controller',
      ].every((n) => have.includes(`serviceaccount/${n}`));
    });
    const uid = (
      await ok(['get', 'sa', '-n', 'kube-system', 'job-controller', '-o', 'jsonpath={.metadata.uid}'])
    ).trim();
    await ok(['delete', 'sa', '-n', 'kube-system', 'job-controller']);
    await until('job-controller made again', async () => {
      const now = await c.kubectl([
        'get',
        'sa',
        '-n',
        'kube-system',
        'job-controller',
        '-o',
        'jsonpath={.metadata.uid}',
      ]);
      return now.code === 0 && now.stdout.trim() !== uid;
    });
  });

  test('an image that cannot be pulled is ErrImagePull, then ImagePullBackOff, with their events', async () => {
    // The sandbox's namespace reaches no registry: the pull fails as a typo in the name does.
    await ok(['run', 'typo', '--image=nosuch.invalid/busybox:1']);
    await until(
      'typo in ImagePullBackOff',
      async () => (await row(['get', 'pods'], 'typo'))[2] === 'ImagePullBackOff',
    );
    const events = await c.json(['get', 'events', '--field-selector', 'involvedObject.name=typo']);
    const messages = events.items.map((e: { message: string }) => e.message);
    for (const m of [
      'Error: ErrImagePull',
      'Error: ImagePullBackOff',
      'Back-off pulling image "nosuch.invalid/busybox:1"',
    ])
      assert.ok(messages.includes(m), `${m} in ${messages.join(' | ')}`);
    // Its log: the kubelet's answer for a container that never ran.
    const logs = await c.kubectl(['logs', 'typo']);
    assert.equal(logs.code, 1);
    assert.match(
      logs.stderr,
      /Error from server \(BadRequest\): container "typo" in pod "typo" is waiting to start: trying and failing to pull image/,
    );
    await ok(['delete', 'pod', 'typo', '--wait=false']);
  });

  test('imagePullPolicy Never with an image the node lacks is ErrImageNeverPull, as the kubelet reports it', async () => {
    await ok(['run', 'neverpull', '--image=busybox:absent', '--image-pull-policy=Never', '--', 'true']);
    await until(
      'neverpull in ErrImageNeverPull',
      async () => (await row(['get', 'pods'], 'neverpull'))[2] === 'ErrImageNeverPull',
    );
    const pod = await c.json(['get', 'pod', 'neverpull']);
    assert.equal(
      pod.status.containerStatuses[0].state.waiting.message,
      'Container image "busybox:absent" is not present with pull policy of Never',
    );
    const events = await c.json(['get', 'events', '--field-selector', 'involvedObject.name=neverpull']);
    const reasons = events.items.map((e: { reason: string; message: string }) => `${e.reason}: ${e.message}`);
    assert.ok(reasons.includes('Failed: Error: ErrImageNeverPull'), reasons.join(' | '));
    assert.ok(!reasons.some((r: string) => r.startsWith('BackOff')), reasons.join(' | '));
    await ok(['delete', 'pod', 'neverpull', '--wait=false']);
  });

  test('a field of the wrong type is refused with upstream decoding error; quantities as numbers pass', async () => {
    await ok(['create', 'deployment', 'typed', '--image=busybox:local', '--', 'sleep', '1000']);
    const r = await c.kubectl(['patch', 'deploy', 'typed', '-p', '{"spec":{"replicas":"x"}}']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Error from server \(BadRequest\): Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32/,
    );
    const cm = await c.kubectl(['apply', '-f', '-'], {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags}\ndata: {enabled: true}\n',
    });
    assert.equal(cm.code, 1);
    assert.match(cm.stderr, /json: cannot unmarshal bool into Go struct field ConfigMap.data of type string/);
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata: {name: sized}\nspec:\n  containers: [{name: c, image: busybox:local, resources: {limits: {cpu: 1, memory: 100000000}}}]\n',
    );
    await ok(['delete', 'deploy/typed', 'pod/sized', '--wait=false']);
  });

  test('health endpoints answer ?verbose with their checks, as kube-apiserver', async () => {
    const ready = await ok(['get', '--raw', '/readyz?verbose']);
    assert.match(ready, /^\[\+\]ping ok$/m);
    assert.match(ready, /^\[\+\]etcd ok$/m);
    assert.match(ready, /readyz check passed\n$/);
    assert.equal(await ok(['get', '--raw', '/livez/ping']), 'ok');
    assert.equal(await ok(['get', '--raw', '/healthz']), 'ok');
    assert.notEqual((await c.kubectl(['get', '--raw', '/readyz/nosuch'])).code, 0);
  });

  test('get componentstatuses lists the scheduler, the controller manager and etcd-0, with the deprecation warning', async () => {
    const r = await c.kubectl(['get', 'cs']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: v1 ComponentStatus is deprecated in v1.19\+/);
    assert.match(r.stdout, /^NAME\s+STATUS\s+MESSAGE\s+ERROR/);
    for (const n of ['scheduler', 'controller-manager', 'etcd-0'])
      assert.equal((await row(['get', 'cs'], n))[1], 'Healthy');
  });

  test("a Job's pods may not restart Always: left out, the policy is refused as upstream", async () => {
    const r = await c.kubectl(['apply', '-f', '-'], {
      input:
        'apiVersion: batch/v1\nkind: Job\nmetadata: {name: norestart}\nspec:\n  template:\n    spec: {containers: [{name: c, image: busybox:local}]}\n',
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /The Job "norestart" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"/,
    );
  });

  test('services/NAME/proxy and pods/NAME/proxy reach the pod, as kubectl proxy and cluster-info URLs use them', async () => {
    await ok([
      'create',
      'deployment',
      'web',
      '--image=busybox:local',
      '--port=8080',
      '--',
      'sh',
      '-c',
      'mkdir -p /www && echo hello-proxy > /www/index.html && exec httpd -f -p 8080 -h /www',
    ]);
    await ok(['expose', 'deploy', 'web', '--port=80', '--target-port=8080']);
    await ok(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    const base = '/api/v1/namespaces/default';
    await until(
      'the service proxy answers',
      async () => (await ok(['get', '--raw', `${base}/services/web:80/proxy/`])) === 'hello-proxy\n',
    );
    assert.equal(
      await ok(['get', '--raw', `${base}/services/http:web:80/proxy/index.html`]),
      'hello-proxy\n',
    );
    const pod = (
      await ok(['get', 'pod', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])
    ).trim();
    assert.equal(await ok(['get', '--raw', `${base}/pods/${pod}:8080/proxy/`]), 'hello-proxy\n');
    const missing = await c.kubectl(['get', '--raw', `${base}/services/nosuch:80/proxy/`]);
    assert.match(missing.stderr, /services "nosuch" not found/);
    await ok(['delete', 'deploy/web', 'svc/web', '--wait=false']);
  });
});

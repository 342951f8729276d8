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

  test('a cordoned node reads Ready,SchedulingDisabled; -o wide has the node info columns', async () => {
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
});

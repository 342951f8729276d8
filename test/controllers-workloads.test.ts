// StatefulSets (and DaemonSets) end to end: a real berth server, simulated nodes, the real kubectl.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';

describe('workload controllers over simulated nodes', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: '*' });
    await startSim(c, ['--count', '3']);
  });
  after(() => c.box.cleanup());
  const k = (args: string[], input?: string) => c.ok(args, input);

  test('a StatefulSet comes up in order with its claims, updates from the top down to the partition, and undoes', async () => {
    const sts = (image: string) => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: ${image}}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;
    // Record the order in which pods appear, from a watch.
    const seen: string[] = [];
    const watch = c.kubectl(['get', 'pods', '-l', 'app=db', '-w', '-o', 'name', '--request-timeout=40s']);
    await k(['apply', '-f', '-'], sts('db:1'));
    await k(['rollout', 'status', 'sts/db', '--timeout=60s']);
    const pods = JSON.parse(await k(['get', 'pods', '-l', 'app=db', '-o', 'json'])).items as {
      metadata: { name: string; creationTimestamp: string; labels: Record<string, string> };
      spec: {
        hostname: string;
        subdomain: string;
        volumes: { persistentVolumeClaim?: { claimName: string } }[];
      };
      status: { conditions: { type: string; lastTransitionTime: string }[] };
    }[];
    assert.deepEqual(pods.map((p) => p.metadata.name).sort(), ['db-0', 'db-1', 'db-2']);
    const p1 = pods.find((p) => p.metadata.name === 'db-1')!;
    assert.equal(p1.spec.hostname, 'db-1');
    assert.equal(p1.spec.subdomain, 'db');
    assert.equal(p1.metadata.labels['apps.kubernetes.io/pod-index'], '1');
    assert.ok(p1.spec.volumes.some((v) => v.persistentVolumeClaim?.claimName === 'data-db-1'));
    assert.equal(
      (await k(['get', 'pvc', '-o', 'name'])).trim().split('\n').sort().join(' '),
      'persistentvolumeclaim/data-db-0 persistentvolumeclaim/data-db-1 persistentvolumeclaim/data-db-2',
    );
    // OrderedReady: each pod was created after the one before was Ready.
    const created = (n: string) =>
      Date.parse(pods.find((p) => p.metadata.name === n)!.metadata.creationTimestamp);
    // creationTimestamp has whole seconds: compare at that resolution.
    const readyAt = (n: string) => {
      const p = pods.find((x) => x.metadata.name === n)!;
      const t = Date.parse(p.status.conditions.find((x) => x.type === 'Ready')!.lastTransitionTime);
      return Math.floor(t / 1000) * 1000;
    };
    assert.ok(
      created('db-1') >= readyAt('db-0') && created('db-2') >= readyAt('db-1'),
      'created in order after readiness',
    );
    // A partitioned update touches only ordinals >= 2.
    await k(['patch', 'sts/db', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}']);
    await k(['apply', '-f', '-'], sts('db:2'));
    const images = async () =>
      (
        await k([
          'get',
          'pods',
          '-l',
          'app=db',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image} {end}',
        ])
      )
        .trim()
        .split(' ')
        .sort()
        .join(' ');
    await until(
      'db-0=db:1 db-1=db:1 db-2=db:2',
      async () => (await images()) === 'db-0=db:1 db-1=db:1 db-2=db:2',
    );
    assert.equal(await images(), 'db-0=db:1 db-1=db:1 db-2=db:2');
    await k(['patch', 'sts/db', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}']);
    await k(['rollout', 'status', 'sts/db', '--timeout=60s']);
    assert.equal(await images(), 'db-0=db:2 db-1=db:2 db-2=db:2');
    assert.match(await k(['rollout', 'history', 'sts/db']), /1\s+<none>\s+2\s+<none>/);
    await k(['rollout', 'undo', 'sts/db']);
    await k(['rollout', 'status', 'sts/db', '--timeout=60s']);
    assert.equal(await images(), 'db-0=db:1 db-1=db:1 db-2=db:1');
    // Scale down removes the highest ordinals; the claims stay (Retain).
    await k(['scale', 'sts/db', '--replicas=1']);
    await until('db-0=db:1', async () => (await images()) === 'db-0=db:1');
    assert.equal(await images(), 'db-0=db:1');
    assert.equal((await k(['get', 'pvc', '-o', 'name'])).trim().split('\n').length, 3);
    const w = await watch;
    for (const line of w.stdout.split('\n')) if (line && !seen.includes(line)) seen.push(line);
    assert.deepEqual(seen.slice(0, 3), ['pod/db-0', 'pod/db-1', 'pod/db-2'], 'first seen in ordinal order');
  });
  test('a DaemonSet runs one pod per eligible node, follows new nodes, skips untolerated taints, and rolls', async () => {
    const ds = (image: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: ${image}}]}
`;
    await k(['apply', '-f', '-'], ds('agent:1'));
    await k(['rollout', 'status', 'ds/agent', '--timeout=60s']);
    const where = async () =>
      (await k(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.nodeName}']))
        .split(' ')
        .sort()
        .join(' ');
    assert.equal(await where(), 'sim-0 sim-1 sim-2');
    // A node with a taint the daemon does not tolerate gets none; a plain new node gets one.
    await startSim(c, ['--count', '1', '--name-prefix', 'extra-']);
    await startSim(c, ['--count', '1', '--name-prefix', 'gpu-']);
    await k(['taint', 'node', 'gpu-0', 'dedicated=gpu:NoExecute']);
    await until('extra-0 sim-0 sim-1 sim-2', async () => (await where()) === 'extra-0 sim-0 sim-1 sim-2');
    assert.equal(await where(), 'extra-0 sim-0 sim-1 sim-2');
    assert.equal(await k(['get', 'ds', 'agent', '-o', 'jsonpath={.status.desiredNumberScheduled}']), '4');
    // A rolling update replaces every pod with the new template.
    await k(['apply', '-f', '-'], ds('agent:2'));
    await k(['rollout', 'status', 'ds/agent', '--timeout=60s']);
    const images = (
      await k(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])
    ).split(' ');
    assert.deepEqual(images, ['agent:2', 'agent:2', 'agent:2', 'agent:2']);
  });

  test('rollout history shows each revision with its change-cause', async () => {
    await k(['create', 'deployment', 'hist', '--image=nginx:1', '--replicas=1']);
    await k(['annotate', 'deploy/hist', 'kubernetes.io/change-cause=first release']);
    await k(['rollout', 'status', 'deploy/hist', '--timeout=60s']);
    await k(['set', 'image', 'deploy/hist', 'nginx=nginx:2']);
    await k(['annotate', '--overwrite', 'deploy/hist', 'kubernetes.io/change-cause=move to nginx 2']);
    await k(['rollout', 'status', 'deploy/hist', '--timeout=60s']);
    let history = '';
    await until('both change-causes in rollout history', async () => {
      history = await k(['rollout', 'history', 'deploy/hist']);
      return /1\s+first release/.test(history) && /2\s+move to nginx 2/.test(history);
    });
    await k(['delete', 'deploy/hist']);
  });

  test('simulated nodes report a complete nodeInfo, as clients expect of every node', async () => {
    const nodes = JSON.parse(await k(['get', 'nodes', '-o', 'json'])).items as {
      status: { nodeInfo: Record<string, string> };
    }[];
    for (const n of nodes) {
      for (const field of ['machineID', 'systemUUID', 'bootID', 'kernelVersion', 'osImage', 'kubeletVersion'])
        assert.ok(n.status.nodeInfo[field], `nodeInfo.${field} is set`);
    }
    assert.equal(new Set(nodes.map((n) => n.status.nodeInfo.systemUUID)).size, nodes.length);
  });
});

// Persistent volumes end to end: a real berth server, three simulated nodes, the real kubectl.
// Claims bind to matching static volumes; a pod follows its volume's node affinity (bound
// claims, and WaitForFirstConsumer ones, where the scheduler picks a reachable volume);
// deleting a claim releases or deletes its volume by the reclaim policy.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';

const localPv = (name: string, node: string, cls: string, policy = 'Retain', size = '1Gi') => `apiVersion: v1
kind: PersistentVolume
metadata: {name: ${name}}
spec:
  capacity: {storage: ${size}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: ${policy}
  storageClassName: ${cls}
  local: {path: /mnt/${name}}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [${node}]}
`;
const claim = (name: string, cls: string, size = '1Gi') => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${cls}
  resources: {requests: {storage: ${size}}}
`;
const podWith = (name: string, claimName: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: ${claimName}}}]
${extra}`;

describe('persistent volumes over simulated nodes', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: '*' });
    await startSim(c, ['--count', '3']);
  });
  after(() => c.box.cleanup());
  const k = (args: string[], input?: string) => c.ok(args, input);
  const get = (args: string[]) => k(['get', ...args]).then((s) => s.trim());

  test('an Immediate claim binds to the smallest match; its pod lands where the volume is', async () => {
    await k(
      ['apply', '-f', '-'],
      [localPv('big', 'sim-0', 'manual', 'Retain', '10Gi'), localPv('small', 'sim-2', 'manual')].join(
        '---\n',
      ),
    );
    await until(
      'volumes Available',
      async () => (await get(['pv', '-o', 'jsonpath={.items[*].status.phase}'])) === 'Available Available',
    );
    await k(['apply', '-f', '-'], claim('data', 'manual'));
    await until(
      'claim Bound',
      async () => (await get(['pvc', 'data', '-o', 'jsonpath={.status.phase}'])) === 'Bound',
    );
    assert.equal(
      await get(['pvc', 'data', '-o', 'jsonpath={.spec.volumeName} {.status.capacity.storage}']),
      'small 1Gi',
    );
    assert.equal(
      await get(['pv', 'small', '-o', 'jsonpath={.status.phase} {.spec.claimRef.name}']),
      'Bound data',
    );
    // kubectl's table shows the binding both ways.
    assert.match(await get(['pvc', 'data']), /data\s+Bound\s+small\s+1Gi\s+RWO\s+manual/);
    await k(['apply', '-f', '-'], podWith('user', 'data'));
    await until(
      'pod Running',
      async () => (await get(['pod', 'user', '-o', 'jsonpath={.status.phase}'])) === 'Running',
    );
    assert.equal(await get(['pod', 'user', '-o', 'jsonpath={.spec.nodeName}']), 'sim-2');
    // A pod pinned elsewhere cannot follow the volume, and says why.
    await k(
      ['apply', '-f', '-'],
      podWith('pinned', 'data', '  nodeSelector: {kubernetes.io/hostname: sim-1}\n'),
    );
    await until('pinned pod explained', async () =>
      (await get(['pod', 'pinned', '-o', 'jsonpath={.status.conditions[0].message}'])).includes(
        'volume node affinity conflict',
      ),
    );
    // A claim in use is only marked for deletion (pvc-protection) until its pods are gone;
    // then it goes and releases the Retain volume, which keeps its claimRef.
    // A claim no pod uses, deleted with it, goes at once: once it is gone the protection
    // controller has acted on the deletions, and the one in use must still be held.
    await k(['apply', '-f', '-'], claim('spare', 'no-such-class'));
    await k(['delete', 'pvc', 'data', 'spare', '--wait=false']);
    assert.match(await get(['pvc', 'data']), /data\s+Terminating\s+small/);
    await until(
      'the unused claim is gone',
      async () => (await c.kubectl(['get', 'pvc', 'spare'])).code !== 0,
    );
    assert.match(await get(['pvc', 'data', '-o', 'jsonpath={.metadata.finalizers}']), /pvc-protection/);
    await k(['delete', 'pod', 'user', 'pinned']);
    await until('claim gone', async () => (await c.kubectl(['get', 'pvc', 'data'])).code !== 0);
    await until(
      'volume Released',
      async () => (await get(['pv', 'small', '-o', 'jsonpath={.status.phase}'])) === 'Released',
    );
    await k(['delete', 'pv', 'small', 'big']);
  });

  test('WaitForFirstConsumer: the scheduler picks a volume on the pod node; Delete removes it after', async () => {
    await k(
      ['apply', '-f', '-'],
      [
        `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
`,
        localPv('l0', 'sim-0', 'local', 'Delete'),
        localPv('l1', 'sim-1', 'local', 'Delete'),
        claim('wait', 'local'),
      ].join('---\n'),
    );
    await until('claim waits for its consumer', async () =>
      (await k(['describe', 'pvc', 'wait'])).includes('waiting for first consumer'),
    );
    assert.equal(await get(['pvc', 'wait', '-o', 'jsonpath={.status.phase}']), 'Pending');
    await k(
      ['apply', '-f', '-'],
      podWith('consumer', 'wait', '  nodeSelector: {kubernetes.io/hostname: sim-1}\n'),
    );
    await until(
      'claim Bound',
      async () => (await get(['pvc', 'wait', '-o', 'jsonpath={.status.phase}'])) === 'Bound',
    );
    assert.equal(await get(['pvc', 'wait', '-o', 'jsonpath={.spec.volumeName}']), 'l1');
    assert.equal(
      await get([
        'pvc',
        'wait',
        '-o',
        "jsonpath={.metadata.annotations['volume\\.kubernetes\\.io/selected-node']}",
      ]),
      'sim-1',
    );
    await until(
      'pod Running on sim-1',
      async () =>
        (await get(['pod', 'consumer', '-o', 'jsonpath={.status.phase}/{.spec.nodeName}'])) ===
        'Running/sim-1',
    );
    // A second consumer pinned to a node without a free volume waits with the reason.
    await k(['apply', '-f', '-'], claim('wait2', 'local'));
    await k(
      ['apply', '-f', '-'],
      podWith('consumer2', 'wait2', '  nodeSelector: {kubernetes.io/hostname: sim-2}\n'),
    );
    await until('second consumer explained', async () =>
      (await get(['pod', 'consumer2', '-o', 'jsonpath={.status.conditions[0].message}'])).includes(
        "didn't find available persistent volumes to bind",
      ),
    );
    await k(['delete', 'pod', 'consumer', 'consumer2', '--wait=false']);
    await k(['delete', 'pvc', 'wait', 'wait2']);
    await until(
      'Delete policy removed the volume',
      async () => (await get(['pv', '-o', 'jsonpath={.items[*].metadata.name}'])) === 'l0',
    );
  });
  test('the default local-path class: a claim without a class gets a volume provisioned on its pod node', async () => {
    assert.match(
      await get(['storageclass']),
      /local-path \(default\)\s+berth\.dev\/local-path\s+Delete\s+WaitForFirstConsumer/,
    );
    await k(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: auto}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 3Gi}}
`,
    );
    assert.equal(await get(['pvc', 'auto', '-o', 'jsonpath={.spec.storageClassName}']), 'local-path');
    await k(['apply', '-f', '-'], podWith('auto-user', 'auto'));
    await until(
      'claim Bound',
      async () => (await get(['pvc', 'auto', '-o', 'jsonpath={.status.phase}'])) === 'Bound',
    );
    await until(
      'pod Running',
      async () => (await get(['pod', 'auto-user', '-o', 'jsonpath={.status.phase}'])) === 'Running',
    );
    const node = await get(['pod', 'auto-user', '-o', 'jsonpath={.spec.nodeName}']);
    const pv = await get(['pvc', 'auto', '-o', 'jsonpath={.spec.volumeName}']);
    assert.match(pv, /^pvc-/);
    assert.equal(
      await get([
        'pv',
        pv,
        '-o',
        'jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.spec.capacity.storage} {.spec.hostPath.type}',
      ]),
      `${node} 3Gi DirectoryOrCreate`,
    );
    await k(['delete', 'pod', 'auto-user', '--wait=false']);
    await k(['delete', 'pvc', 'auto']);
    await until(
      'provisioned volume deleted with its claim',
      async () => !(await get(['pv', '-o', 'name'])).includes(pv),
    );
  });
});

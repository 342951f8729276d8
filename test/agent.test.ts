// The node agent against a real `berth server` and the real kubectl: the embedded agent and
// a joining `berth agent` register their nodes with their own identities and run pods
// through the agent's pod sync. Both use the in-memory pod runtime (--pod-runtime sim):
// what is tested here is registration, joining and the pod lifecycle through the API.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { startCluster, type TestCluster, until } from './helpers/cluster.js';
import { berthBin } from './helpers/sandbox.js';

describe('node agent', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, {
      controllers: '*',
      agent: true,
      args: [
        '--pod-runtime',
        'sim',
        '--node-name',
        'main-node',
        '--node-ip',
        '192.0.2.10',
        '--kubelet-port',
        '0',
      ],
    });
  });
  after(() => c.box.cleanup());
  const k = (args: string[]) => c.ok(args);
  const json = (args: string[]) => c.json(args);
  const ready = async (node: string) =>
    ((await json(['get', 'node', node])).status.conditions ?? []).some(
      (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
    );

  test('the embedded agent registers its node with capacity, node info, addresses, labels, a pod CIDR and a Lease', async () => {
    await until('main-node Ready', () => ready('main-node'));
    const n = await json(['get', 'node', 'main-node']);
    assert.equal(n.metadata.labels['kubernetes.io/hostname'], 'main-node');
    assert.equal(n.metadata.labels['kubernetes.io/os'], 'linux');
    assert.ok(n.metadata.labels['kubernetes.io/arch']);
    assert.equal(n.metadata.labels['node-role.kubernetes.io/control-plane'], 'true');
    assert.equal(n.spec.podCIDR, '10.42.0.0/24');
    for (const r of ['cpu', 'memory', 'pods', 'ephemeral-storage']) {
      assert.ok(n.status.capacity[r], `capacity ${r}`);
      assert.ok(n.status.allocatable[r], `allocatable ${r}`);
    }
    assert.equal(n.status.capacity.pods, '110');
    const info = n.status.nodeInfo;
    assert.equal(info.containerRuntimeVersion, 'sim://1');
    assert.equal(info.kubeletVersion, 'v1.32.0-berth');
    assert.equal(info.operatingSystem, 'linux');
    for (const f of ['kernelVersion', 'osImage', 'bootID', 'architecture']) assert.ok(info[f], f);
    assert.deepEqual(n.status.addresses, [
      { type: 'InternalIP', address: '192.0.2.10' },
      { type: 'Hostname', address: 'main-node' },
    ]);
    assert.deepEqual(
      n.status.conditions.map((x: { type: string; status: string }) => `${x.type}=${x.status}`).sort(),
      ['DiskPressure=False', 'MemoryPressure=False', 'PIDPressure=False', 'Ready=True'],
    );
    const lease = await json(['get', 'lease', '-n', 'kube-node-lease', 'main-node']);
    assert.equal(lease.spec.holderIdentity, 'main-node');
    const token = readFileSync(join(c.dataDir, 'node-token'), 'utf8');
    assert.match(token, /^K10[0-9a-f]{64}::server:\S+\n$/);
  });

  test('an agent joins with the token, gets its own identity and the next pod CIDR; a token for another CA is refused', async () => {
    const dir = join(c.box.dir, 'n2');
    const args = [
      'agent',
      '--server',
      `https://127.0.0.1:${c.port}`,
      '--token-file',
      join(c.dataDir, 'node-token'),
    ];
    c.box.spawn(
      berthBin,
      [
        ...args,
        '--node-name',
        'n2',
        '--node-ip',
        '192.0.2.20',
        '--data-dir',
        dir,
        '--pod-runtime',
        'sim',
        '--kubelet-port',
        '0',
      ],
      {
        stdio: 'ignore',
      },
    );
    await until('n2 Ready', async () => (await c.kubectl(['get', 'node', 'n2'])).code === 0 && ready('n2'));
    const n = await json(['get', 'node', 'n2']);
    assert.equal(n.spec.podCIDR, '10.42.1.0/24');
    assert.equal(n.metadata.labels['node-role.kubernetes.io/control-plane'], undefined);
    const cert = new X509Certificate(readFileSync(join(dir, 'client.pem')));
    assert.match(cert.subject, /CN=system:node:n2/);
    assert.match(cert.subject, /O=system:nodes/);
    const wrong = join(c.box.dir, 'wrong-token');
    const secret = readFileSync(join(c.dataDir, 'node-token'), 'utf8').split('::server:')[1]!;
    (await import('node:fs')).writeFileSync(wrong, `K10${'0'.repeat(64)}::server:${secret}`);
    const r = await run(
      berthBin,
      [
        'agent',
        '--server',
        `https://127.0.0.1:${c.port}`,
        '--token-file',
        wrong,
        '--data-dir',
        join(c.box.dir, 'n3'),
      ],
      {
        check: false,
      },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /its CA does not match the token's hash/);
  });

  test('a pod bound to the node runs, reports its status, and is deleted gracefully through its agent', async () => {
    await until('main-node Ready', () => ready('main-node'));
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1' },
      spec: {
        nodeName: 'main-node',
        containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1000'] }],
      },
    };
    const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, r.stderr);
    await until('p1 Running', async () => (await json(['get', 'pod', 'p1'])).status.phase === 'Running');
    const st = (await json(['get', 'pod', 'p1'])).status;
    assert.match(st.podIP, /^10\.42\.0\.\d+$/);
    assert.equal(st.hostIP, '192.0.2.10');
    assert.ok(st.startTime);
    assert.deepEqual(
      st.conditions.map((x: { type: string; status: string }) => `${x.type}=${x.status}`).sort(),
      [
        'ContainersReady=True',
        'Initialized=True',
        'PodReadyToStartContainers=True',
        'PodScheduled=True',
        'Ready=True',
      ],
    );
    assert.match(st.containerStatuses[0].containerID, /^berth:\/\//);
    assert.equal(st.containerStatuses[0].restartCount, 0);
    // kubectl waits for the pod to be gone: the agent confirms with a grace-0 delete.
    await k(['delete', 'pod', 'p1', '--timeout=30s']);
    assert.notEqual((await c.kubectl(['get', 'pod', 'p1'])).code, 0);
  });

  test('the API keeps a pod bound to a node until the node confirms; a forced delete needs no node', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'ghost' },
      spec: { nodeName: 'no-such-node', containers: [{ name: 'c', image: 'busybox' }] },
    };
    assert.equal((await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) })).code, 0);
    await k(['delete', 'pod', 'ghost', '--wait=false']);
    const p = await json(['get', 'pod', 'ghost']);
    assert.ok(p.metadata.deletionTimestamp);
    assert.equal(p.metadata.deletionGracePeriodSeconds, 30);
    await k(['delete', 'pod', 'ghost', '--force', '--grace-period=0']);
    assert.notEqual((await c.kubectl(['get', 'pod', 'ghost'])).code, 0);
  });
});

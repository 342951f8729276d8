// Node-pressure eviction on a real node: `berth server` with its embedded agent in a network
// namespace of its own and the real kubectl. Two pods run; then the server comes back with a
// hard threshold this machine is really under (nodefs.available<99%), so the agent's
// measurements show DiskPressure: the node reports the condition and gets the taint, new pods
// stay Pending (or, bound by name, are refused by the agent), and the agent evicts the
// BestEffort pod (using disk beyond its zero request) before the Guaranteed one (within its
// ephemeral-storage request), as the kubelet ranks them. Then a memory threshold above the
// machine's memory gives MemoryPressure and its taint.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startAgentCluster, until } from './helpers/cluster.js';
import { isRoot } from './helpers/sandbox.js';

const pod = (name: string, resources: Record<string, unknown>, script: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'main',
        image: 'busybox:local',
        imagePullPolicy: 'IfNotPresent',
        command: ['sh', '-c', script],
        resources,
      },
    ],
  },
});

describe('node-pressure eviction', { skip: !isRoot }, () => {
  test('DiskPressure from a real threshold: condition, taint, and the BestEffort pod evicted first', async (t) => {
    const c = await startAgentCluster(t);
    await c.apply(
      pod('besteffort', {}, 'head -c 65536 /dev/zero > /tmp/fill; exec sleep 1000'),
      pod(
        'guaranteed',
        { limits: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '1Gi' } },
        'exec sleep 1000',
      ),
    );
    for (const name of ['besteffort', 'guaranteed']) await c.running(name);
    const node = await c.json(['get', 'node', 'n1']);
    const diskPressure = (n: {
      status: { conditions: { type: string; status: string; reason: string }[] };
    }) => n.status.conditions.find((x) => x.type === 'DiskPressure');
    assert.equal(diskPressure(node)?.status, 'False');

    // kill -9 leaves the containers running; the server comes back under real pressure.
    await c.stop();
    await c.start(['--eviction-hard', 'nodefs.available<99%']);
    await until(
      'DiskPressure',
      async () => diskPressure(await c.json(['get', 'node', 'n1']))?.status === 'True',
      60_000,
    );
    assert.equal(diskPressure(await c.json(['get', 'node', 'n1']))?.reason, 'KubeletHasDiskPressure');
    await until('the disk-pressure taint', async () =>
      ((await c.json(['get', 'node', 'n1'])).spec.taints ?? []).some(
        (x: { key: string; effect: string }) =>
          x.key === 'node.kubernetes.io/disk-pressure' && x.effect === 'NoSchedule',
      ),
    );

    const evicted = async (name: string) => {
      const p = await c.json(['get', 'pod', name]);
      return p.status.phase === 'Failed' && p.status.reason === 'Evicted' ? p : undefined;
    };
    await until(
      'both pods evicted',
      async () => !!(await evicted('besteffort')) && !!(await evicted('guaranteed')),
      90_000,
    );
    const be = (await evicted('besteffort'))!;
    const g = (await evicted('guaranteed'))!;
    assert.match(
      be.status.message,
      /^The node was low on resource: ephemeral-storage\. Threshold quantity: \S+, available: \S+\. Container main was using \S+, request is 0, has larger consumption of ephemeral-storage\. $/,
    );
    // Within its request, the Guaranteed pod has no container named in its message.
    assert.doesNotMatch(g.status.message, /Container main/);
    // One pod per pass, in rank order: the BestEffort pod's eviction came first.
    const evictedAt = (p: { status: { conditions: { type: string; lastTransitionTime: string }[] } }) =>
      Date.parse(p.status.conditions.find((x) => x.type === 'DisruptionTarget')!.lastTransitionTime);
    assert.ok(evictedAt(be) < evictedAt(g), `${evictedAt(be)} < ${evictedAt(g)}`);
    const events = (await c.json(['get', 'events', '--field-selector', 'reason=Evicted'])).items;
    assert.deepEqual(events.map((e: { involvedObject: { name: string } }) => e.involvedObject.name).sort(), [
      'besteffort',
      'guaranteed',
    ]);
    // Their containers were killed: nothing of them runs.
    const ps = await c.box.berth(['ps', '--filter', 'label=io.kubernetes.pod.namespace=default', '-q']);
    assert.equal(ps.stdout.trim(), '', ps.stderr);

    // A new pod does not tolerate the taint: the scheduler leaves it Pending, naming it.
    await c.apply(pod('late', {}, 'exec sleep 1000'));
    await until('late unschedulable', async () =>
      /disk-pressure/.test(
        ((await c.json(['get', 'pod', 'late'])).status.conditions ?? []).find(
          (x: { type: string }) => x.type === 'PodScheduled',
        )?.message ?? '',
      ),
    );

    // Bound by name, past the scheduler: the agent's admission refuses it, as the kubelet's.
    const bound = pod('bound', {}, 'exec sleep 1000');
    await c.apply({ ...bound, spec: { ...bound.spec, nodeName: 'n1' } });
    await until(
      'bound rejected',
      async () => (await c.json(['get', 'pod', 'bound'])).status.phase === 'Failed',
    );
    const rejected = (await c.json(['get', 'pod', 'bound'])).status;
    assert.equal(rejected.reason, 'Evicted');
    assert.equal(rejected.message, 'Pod was rejected: The node had condition: [DiskPressure]. ');

    // Memory: a threshold above this machine's memory is met at once; the disk one is off.
    await c.stop();
    await c.start(['--eviction-hard', 'memory.available<100Ti,nodefs.available<0%']);
    const conditionsOf = async () =>
      Object.fromEntries(
        ((await c.json(['get', 'node', 'n1'])).status.conditions as { type: string; status: string }[]).map(
          (x) => [x.type, x.status],
        ),
      );
    await until('MemoryPressure and no DiskPressure', async () => {
      const cs = await conditionsOf();
      return cs.MemoryPressure === 'True' && cs.DiskPressure === 'False';
    });
    await until('the memory-pressure taint instead of the disk-pressure one', async () => {
      const keys = ((await c.json(['get', 'node', 'n1'])).spec.taints ?? []).map(
        (x: { key: string }) => x.key,
      );
      return (
        keys.includes('node.kubernetes.io/memory-pressure') &&
        !keys.includes('node.kubernetes.io/disk-pressure')
      );
    });
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroupFiles, weightFromShares } from './cgroups.js';
import { containerCgroup, podCgroup, podCgroupPath, qosClass, sharesFor } from './qos.js';

const podWith = (containers: object[], initContainers: object[] = []) => ({
  metadata: { uid: 'u1' },
  spec: { containers, initContainers },
});
const c = (resources: object) => ({ name: 'c', resources });

test('QoS class: BestEffort, Guaranteed (limits equal requests, given or defaulted), Burstable', () => {
  assert.equal(qosClass(podWith([c({})])), 'BestEffort');
  assert.equal(qosClass(podWith([c({ limits: { cpu: '1', memory: '1Gi' } })])), 'Guaranteed');
  // 1 and 1000m are the same quantity.
  assert.equal(
    qosClass(
      podWith([c({ requests: { cpu: '1000m', memory: '1Gi' }, limits: { cpu: '1', memory: '1024Mi' } })]),
    ),
    'Guaranteed',
  );
  assert.equal(qosClass(podWith([c({ requests: { cpu: '1' } })])), 'Burstable');
  assert.equal(qosClass(podWith([c({ limits: { cpu: '1' } })])), 'Burstable');
  assert.equal(
    qosClass(podWith([c({ limits: { cpu: '1', memory: '1Gi' } }), c({})])),
    'Burstable',
    'one container without limits makes the pod Burstable',
  );
  assert.equal(
    qosClass(podWith([c({ limits: { cpu: '1', memory: '1Gi' } })], [c({ requests: { memory: '1Mi' } })])),
    'Burstable',
    'init containers count',
  );
});

test("a container's cgroup: shares from its request, quota and memory from its limits", () => {
  assert.deepEqual(containerCgroup(c({})), { cpuShares: 2 });
  assert.deepEqual(
    containerCgroup(c({ requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '64Mi' } })),
    {
      cpuShares: 256,
      cpuQuota: 50_000,
      cpuPeriod: 100_000,
      memoryLimit: 64 * 1024 * 1024,
    },
  );
  // A limit alone is also the request.
  assert.equal(containerCgroup(c({ limits: { cpu: '2' } })).cpuShares, 2048);
  assert.equal(sharesFor(1), 2, 'never under the minimum');
  assert.equal(containerCgroup(c({ limits: { cpu: '1m' } })).cpuQuota, 1000, 'the smallest quota');
});

test("the pod's cgroup: summed requests, limits only when every container has one, init containers as the largest", () => {
  const guaranteed = podWith([
    c({ limits: { cpu: '500m', memory: '64Mi' } }),
    c({ limits: { cpu: '1', memory: '128Mi' } }),
  ]);
  assert.deepEqual(podCgroup(guaranteed), {
    cpuShares: 1536,
    cpuQuota: 150_000,
    cpuPeriod: 100_000,
    memoryLimit: 192 * 1024 * 1024,
  });
  const burstable = podWith([c({ requests: { cpu: '100m' }, limits: { memory: '32Mi' } }), c({})]);
  assert.deepEqual(podCgroup(burstable), { cpuShares: 102 });
  const bigInit = podWith(
    [c({ limits: { cpu: '100m', memory: '8Mi' } })],
    [c({ limits: { cpu: '2', memory: '1Gi' } })],
  );
  assert.deepEqual(podCgroup(bigInit), {
    cpuShares: 2048,
    cpuQuota: 200_000,
    cpuPeriod: 100_000,
    memoryLimit: 1024 ** 3,
  });
  assert.deepEqual(podCgroup(podWith([c({})]), 1024), { cpuShares: 2, pidsLimit: 1024 });
});

test('pod cgroup paths by QoS class, and the files written for v1 and v2', () => {
  assert.equal(podCgroupPath('u1', 'Guaranteed'), '/kubepods/podu1');
  assert.equal(podCgroupPath('u1', 'Burstable'), '/kubepods/burstable/podu1');
  assert.equal(podCgroupPath('u1', 'BestEffort'), '/kubepods/besteffort/podu1');
  const v = { cpuShares: 512, cpuQuota: 50_000, cpuPeriod: 100_000, memoryLimit: 1 << 26 };
  assert.deepEqual(
    cgroupFiles(v, 1).map((f) => `${f.controller}/${f.file}=${f.value}`),
    [
      'cpu/cpu.shares=512',
      'cpu/cpu.cfs_period_us=100000',
      'cpu/cpu.cfs_quota_us=50000',
      'memory/memory.limit_in_bytes=67108864',
      'pids/pids.max=max',
    ],
  );
  assert.deepEqual(
    cgroupFiles({ cpuShares: 2 }, 2).map((f) => `${f.file}=${f.value}`),
    ['cpu.weight=1', 'cpu.max=max 100000', 'memory.max=max', 'pids.max=max'],
  );
  assert.equal(weightFromShares(1024), 39);
  assert.equal(weightFromShares(262144), 10000);
});

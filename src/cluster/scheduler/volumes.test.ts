import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { NO_VOLUME, planVolumes, VOLUME_CONFLICT, type VolumeCaches } from './volumes.js';

const node = (name: string): KubeObject => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name } },
});
const local = (name: string, host: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name },
  spec: {
    capacity: { storage: '1Gi' },
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'local',
    local: { path: '/mnt/disk' },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [host] }] },
        ],
      },
    },
    ...extra,
  },
  status: { phase: 'Available' },
});
const claim = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, namespace: 'default', uid: name },
  spec: {
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'local',
    resources: { requests: { storage: '1Gi' } },
    ...extra,
  },
});
const pod = (...claims: string[]): KubeObject => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) },
});

function caches(claims: KubeObject[], volumes: KubeObject[], mode = 'WaitForFirstConsumer'): VolumeCaches {
  return {
    claim: (k) => claims.find((c) => `default/${c.metadata.name}` === k),
    volume: (n) => volumes.find((v) => v.metadata.name === n),
    volumes: () => volumes,
    storageClass: (n) => (n === 'local' ? { metadata: { name: n }, volumeBindingMode: mode } : undefined),
  };
}

test('a pod without claims has no plan; missing or unbound immediate claims block every node', () => {
  assert.equal(planVolumes({ metadata: { name: 'p' }, spec: {} }, caches([], [])), undefined);
  assert.equal(
    planVolumes(pod('data'), caches([], []))?.everywhere,
    'persistentvolumeclaim "data" not found',
  );
  assert.equal(
    planVolumes(pod('data'), caches([claim('data')], [], 'Immediate'))?.everywhere,
    'pod has unbound immediate PersistentVolumeClaims',
  );
});

test("a bound claim admits only the nodes its volume's affinity allows", () => {
  const plan = planVolumes(pod('data'), caches([claim('data', { volumeName: 'v2' })], [local('v2', 'n2')]))!;
  assert.equal(plan.unfit(node('n1')), VOLUME_CONFLICT);
  assert.equal(plan.unfit(node('n2')), undefined);
});

test('a waiting claim admits nodes with a free reachable volume and takes each volume once', () => {
  const vols = [local('a1', 'n1'), local('b2', 'n2'), local('c2', 'n2')];
  let plan = planVolumes(pod('data'), caches([claim('data')], vols))!;
  assert.equal(plan.unfit(node('n3')), NO_VOLUME);
  assert.deepEqual(
    plan.choose(node('n2')).map((c) => c.volume?.metadata.name),
    ['b2'],
  );
  // Two claims on n1 need two volumes there; n2 has two.
  plan = planVolumes(pod('x', 'y'), caches([claim('x'), claim('y')], vols))!;
  assert.equal(plan.unfit(node('n1')), NO_VOLUME);
  assert.deepEqual(
    plan.choose(node('n2')).map((c) => c.volume?.metadata.name),
    ['b2', 'c2'],
  );
});

test("Berth's local-path class fits any node and leaves the volume to be provisioned", () => {
  const c: VolumeCaches = {
    ...caches([claim('data', { storageClassName: 'local-path' })], []),
    storageClass: (n) =>
      n === 'local-path'
        ? ({
            metadata: { name: n },
            provisioner: 'berth.dev/local-path',
            volumeBindingMode: 'WaitForFirstConsumer',
          } as KubeObject)
        : undefined,
  };
  const plan = planVolumes(pod('data'), c)!;
  assert.equal(plan.unfit(node('n7')), undefined);
  assert.deepEqual(
    plan.choose(node('n7')).map((x) => [x.claim.metadata.name, x.volume]),
    [['data', undefined]],
  );
});

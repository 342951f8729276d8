import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { type BinderActions, type BinderCaches, syncClaim, syncVolume } from './pv-binder.js';
import { findVolume, volumeMatches } from './volume-match.js';

const pv = (name: string, size: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, resourceVersion: '1', labels: { tier: size === '1Gi' ? 'small' : 'big' } },
  spec: {
    capacity: { storage: size },
    accessModes: ['ReadWriteOnce'],
    persistentVolumeReclaimPolicy: 'Retain',
    hostPath: { path: `/srv/${name}` },
    ...extra,
  },
  status: { phase: 'Available' },
});
const pvc = (name: string, size: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '1' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...extra },
  status: { phase: 'Pending' },
});

function world(claims: KubeObject[], volumes: KubeObject[], classes: KubeObject[] = []) {
  const log: string[] = [];
  const caches: BinderCaches = {
    claim: (k) => claims.find((c) => `${c.metadata.namespace}/${c.metadata.name}` === k),
    volume: (n) => volumes.find((v) => v.metadata.name === n),
    volumes: () => volumes,
    storageClass: (n) => classes.find((c) => c.metadata.name === n),
  };
  const act: BinderActions = {
    updateVolume: async (v) => {
      log.push(`pv ${v.metadata.name} claimRef=${v.spec?.claimRef?.name ?? ''}`);
      return v;
    },
    volumeStatus: async (v, s) => log.push(`pv ${v.metadata.name} ${JSON.stringify(s)}`),
    updateClaim: async (c) => {
      log.push(`pvc ${c.metadata.name} volumeName=${c.spec?.volumeName}`);
      return c;
    },
    claimStatus: async (c, s) => log.push(`pvc ${c.metadata.name} ${(s as { phase: string }).phase}`),
    deleteVolume: async (v) => log.push(`delete pv ${v.metadata.name}`),
    createVolume: async (v) => {
      log.push(
        `create pv ${v.metadata.name} on ${v.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0]}`,
      );
      return v;
    },
    claimExists: async () => false,
    event: (_o, type, reason, msg) => log.push(`event ${type} ${reason}: ${msg}`),
    enqueueClaim: (k) => log.push(`enqueue ${k}`),
  };
  return { caches, act, log };
}

test('matching: class, access modes, capacity, selector; the smallest fit wins', () => {
  const small = pv('small', '1Gi');
  const big = pv('big', '10Gi');
  assert.equal(findVolume(pvc('a', '500Mi'), [big, small])?.metadata.name, 'small');
  assert.equal(findVolume(pvc('a', '2Gi'), [big, small])?.metadata.name, 'big');
  assert.equal(findVolume(pvc('a', '20Gi'), [big, small]), undefined);
  assert.equal(volumeMatches(small, pvc('a', '1Gi', { accessModes: ['ReadWriteMany'] })), false);
  assert.equal(volumeMatches(small, pvc('a', '1Gi', { storageClassName: 'fast' })), false);
  const sel = pvc('a', '1Gi', { selector: { matchLabels: { tier: 'big' } } });
  assert.equal(findVolume(sel, [big, small])?.metadata.name, 'big');
  // A volume claimed by someone else is not free; one pre-bound to this claim wins at once.
  const taken = pv('taken', '1Gi', { claimRef: { namespace: 'default', name: 'other' } });
  const mine = pv('mine', '10Gi', { claimRef: { namespace: 'default', name: 'a' } });
  assert.equal(findVolume(pvc('a', '1Gi'), [taken, small, mine])?.metadata.name, 'mine');
});

test('a pending claim binds to a free volume: volume first, then claim, then statuses', async () => {
  const { caches, act, log } = world([pvc('data', '1Gi')], [pv('v1', '5Gi')]);
  await syncClaim('default/data', caches, act);
  assert.deepEqual(log, [
    'pv v1 claimRef=data',
    'pvc data volumeName=v1',
    'pvc data Bound',
    'pv v1 {"phase":"Bound"}',
  ]);
});

test('no volume: Pending with the reason as an event; WaitForFirstConsumer waits for the scheduler', async () => {
  let w = world([pvc('data', '1Gi')], []);
  await syncClaim('default/data', w.caches, w.act);
  assert.deepEqual(w.log, [
    'event Warning FailedBinding: no persistent volumes available for this claim and no storage class is set',
  ]);
  const wffc = {
    metadata: { name: 'local' },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
  w = world(
    [pvc('data', '1Gi', { storageClassName: 'local' })],
    [pv('v1', '5Gi', { storageClassName: 'local' })],
    [wffc],
  );
  await syncClaim('default/data', w.caches, w.act);
  assert.deepEqual(w.log, [
    'event Normal WaitForFirstConsumer: waiting for first consumer to be created before binding',
  ]);
  // Once the scheduler pre-bound a volume to it, the claim binds to that one.
  const pre = pv('v2', '5Gi', {
    storageClassName: 'local',
    claimRef: { namespace: 'default', name: 'data', uid: 'uid-data' },
  });
  w = world(
    [pvc('data', '1Gi', { storageClassName: 'local' })],
    [pv('v1', '5Gi', { storageClassName: 'local' }), pre],
    [wffc],
  );
  await syncClaim('default/data', w.caches, w.act);
  assert.deepEqual(w.log, ['pvc data volumeName=v2', 'pvc data Bound', 'pv v2 {"phase":"Bound"}']);
});

test('a claim naming a volume bound elsewhere stays Pending', async () => {
  const other = pv('v1', '5Gi', { claimRef: { namespace: 'default', name: 'x', uid: 'u' } });
  const { caches, act, log } = world([pvc('data', '1Gi', { volumeName: 'v1' })], [other]);
  await syncClaim('default/data', caches, act);
  assert.deepEqual(log, ['event Warning FailedBinding: volume "v1" already bound to a different claim.']);
});

test('volumes: free is Available; a gone claim releases (Retain) or deletes (Delete)', async () => {
  let w = world([], [{ ...pv('v1', '1Gi'), status: { phase: 'Pending' } }]);
  await syncVolume('v1', w.caches, w.act);
  assert.deepEqual(w.log, ['pv v1 {"phase":"Available"}']);
  const bound = (policy: string) =>
    pv('v1', '1Gi', {
      persistentVolumeReclaimPolicy: policy,
      claimRef: { namespace: 'default', name: 'gone', uid: 'u1' },
    });
  w = world([], [{ ...bound('Retain'), status: { phase: 'Bound' } }]);
  await syncVolume('v1', w.caches, w.act);
  assert.deepEqual(w.log, ['pv v1 {"phase":"Released"}']);
  w = world([], [{ ...bound('Delete'), status: { phase: 'Bound' } }]);
  await syncVolume('v1', w.caches, w.act);
  assert.deepEqual(w.log, ['pv v1 {"phase":"Released"}', 'delete pv v1']);
  // Its claim still there (same uid): the volume is Bound, nothing released.
  const claim = { ...pvc('gone', '1Gi', { volumeName: 'v1' }), status: { phase: 'Bound' } };
  claim.metadata.uid = 'u1';
  w = world([claim], [{ ...bound('Delete'), status: { phase: 'Bound' } }]);
  await syncVolume('v1', w.caches, w.act);
  assert.deepEqual(w.log, []);
});

test('local-path: a claim with a selected node gets a new volume there, bound at once', async () => {
  const cls = {
    metadata: { name: 'local-path' },
    provisioner: 'berth.dev/local-path',
    volumeBindingMode: 'WaitForFirstConsumer',
    reclaimPolicy: 'Delete',
  };
  const c = pvc('data', '2Gi', { storageClassName: 'local-path' });
  let w = world([c], [], [cls]);
  await syncClaim('default/data', w.caches, w.act);
  assert.deepEqual(w.log, [
    'event Normal WaitForFirstConsumer: waiting for first consumer to be created before binding',
  ]);
  c.metadata.annotations = { 'volume.kubernetes.io/selected-node': 'n2' };
  w = world([c], [], [cls]);
  await syncClaim('default/data', w.caches, w.act);
  assert.deepEqual(w.log, [
    'event Normal Provisioning: External provisioner is provisioning volume for claim "default/data"',
    'create pv pvc-uid-data on n2',
    'event Normal ProvisioningSucceeded: Successfully provisioned volume pvc-uid-data',
    'pvc data volumeName=pvc-uid-data',
    'pvc data Bound',
    'pv pvc-uid-data {"phase":"Bound"}',
  ]);
});

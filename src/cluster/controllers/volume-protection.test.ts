import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import {
  type ProtectionActions,
  PV_PROTECTION,
  PVC_PROTECTION,
  syncClaimProtection,
  syncVolumeProtection,
} from './volume-protection.js';

const deleting = (o: KubeObject): KubeObject => ({
  ...o,
  metadata: { ...o.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' },
});
const claim: KubeObject = { metadata: { name: 'data', namespace: 'default', finalizers: [PVC_PROTECTION] } };
const pod = (phase: string): KubeObject => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] },
  status: { phase },
});

function recorder(pods: KubeObject[]) {
  const log: string[] = [];
  const act: ProtectionActions = {
    podsIn: async () => pods,
    release: async (o, fin) => log.push(`release ${o.metadata.name} ${fin}`),
  };
  return { act, log };
}

test('a claim being deleted keeps its finalizer while a pod that has not finished uses it', async () => {
  let r = recorder([pod('Running')]);
  await syncClaimProtection(deleting(claim), r.act);
  assert.deepEqual(r.log, []);
  r = recorder([pod('Succeeded')]);
  await syncClaimProtection(deleting(claim), r.act);
  assert.deepEqual(r.log, [`release data ${PVC_PROTECTION}`]);
  // Not being deleted: nothing to do.
  r = recorder([]);
  await syncClaimProtection(claim, r.act);
  assert.deepEqual(r.log, []);
});

test('a volume being deleted goes once it is no longer Bound', async () => {
  const pv: KubeObject = {
    metadata: { name: 'v1', finalizers: [PV_PROTECTION] },
    status: { phase: 'Bound' },
  };
  let r = recorder([]);
  await syncVolumeProtection(deleting(pv), r.act);
  assert.deepEqual(r.log, []);
  r = recorder([]);
  await syncVolumeProtection(deleting({ ...pv, status: { phase: 'Released' } }), r.act);
  assert.deepEqual(r.log, [`release v1 ${PV_PROTECTION}`]);
});

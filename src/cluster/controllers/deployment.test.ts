import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { resolveIntOrPercent, syncDeployment, templateHash } from './deployment.js';

const template = (image: string) => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image }] },
});
const deployment = (image: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'd-uid',
    generation: 1,
    annotations: { 'deployment.kubernetes.io/revision': '1' },
  },
  spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template(image), ...extra },
});
const rs = (image: string, replicas: number, available: number, revision: number): KubeObject => ({
  metadata: {
    name: `web-${templateHash(template(image))}`,
    namespace: 'default',
    labels: { app: 'web', 'pod-template-hash': templateHash(template(image)) },
    annotations: { 'deployment.kubernetes.io/revision': String(revision) },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true },
    ],
  },
  spec: { replicas, template: template(image) },
  status: { replicas, availableReplicas: available, readyReplicas: available },
});

function recorder() {
  const actions: string[] = [];
  return {
    actions,
    act: {
      createReplicaSet: async (_ns: string, r: KubeObject) =>
        actions.push(
          `create ${r.metadata.name} rev=${r.metadata.annotations?.['deployment.kubernetes.io/revision']}`,
        ),
      updateReplicaSet: async (r: KubeObject) => actions.push(`scale ${r.metadata.name} ${r.spec.replicas}`),
      deleteReplicaSet: async (_ns: string, name: string) => actions.push(`delete ${name}`),
      updateStatus: async () => actions.push('status'),
      updateDeployment: async () => actions.push('annotate'),
    },
  };
}

test('percentages: surge rounds up, unavailable down', () => {
  assert.equal(resolveIntOrPercent('25%', 3, true, '25%'), 1);
  assert.equal(resolveIntOrPercent('25%', 3, false, '25%'), 0);
  assert.equal(resolveIntOrPercent(2, 3, false, '25%'), 2);
});

test('a new template gets a new ReplicaSet with the next revision', async () => {
  const r = recorder();
  const old = rs('nginx:1', 3, 3, 1);
  await syncDeployment(
    'default/web',
    { getDeployment: () => deployment('nginx:2'), replicaSetsIn: () => [old] },
    r.act,
  );
  assert.deepEqual(r.actions, [`create web-${templateHash(template('nginx:2'))} rev=2`]);
});

test('maxUnavailable=0: scale the new one up by maxSurge, the old one down only as new pods are available', async () => {
  const r = recorder();
  const d = deployment('nginx:2', {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
  });
  d.metadata.annotations = { 'deployment.kubernetes.io/revision': '2' };
  const caches = {
    getDeployment: () => d,
    replicaSetsIn: () => [rs('nginx:1', 3, 3, 1), rs('nginx:2', 0, 0, 2)],
  };
  await syncDeployment('default/web', caches, r.act);
  assert.deepEqual(
    r.actions.filter((a) => a.startsWith('scale')),
    [`scale web-${templateHash(template('nginx:2'))} 1`],
  );
  r.actions.length = 0;
  const caches2 = {
    getDeployment: () => d,
    replicaSetsIn: () => [rs('nginx:1', 3, 3, 1), rs('nginx:2', 1, 1, 2)],
  };
  await syncDeployment('default/web', caches2, r.act);
  assert.deepEqual(
    r.actions.filter((a) => a.startsWith('scale')),
    [`scale web-${templateHash(template('nginx:1'))} 2`],
  );
});

test('Recreate: old ones go to zero before the new one scales', async () => {
  const r = recorder();
  const d = deployment('nginx:2', { strategy: { type: 'Recreate' } });
  d.metadata.annotations = { 'deployment.kubernetes.io/revision': '2' };
  await syncDeployment(
    'default/web',
    { getDeployment: () => d, replicaSetsIn: () => [rs('nginx:1', 3, 3, 1), rs('nginx:2', 0, 0, 2)] },
    r.act,
  );
  assert.deepEqual(
    r.actions.filter((a) => a.startsWith('scale')),
    [`scale web-${templateHash(template('nginx:1'))} 0`],
  );
});

test('no progress for progressDeadlineSeconds: Progressing=False, ProgressDeadlineExceeded', async () => {
  const statuses: KubeObject[] = [];
  const requeues: number[] = [];
  const act = {
    ...recorder().act,
    updateStatus: async (d: KubeObject) => statuses.push(d),
    requeueAfter: (_k: string, ms: number) => requeues.push(ms),
  };
  const stuck = rs('nginx:2', 3, 0, 2);
  const old = rs('nginx:1', 0, 0, 1);
  const long = new Date(Date.now() - 120_000).toISOString();
  const d = deployment('nginx:2', { progressDeadlineSeconds: 60 });
  d.metadata.annotations = { 'deployment.kubernetes.io/revision': '2' };
  d.status = {
    observedGeneration: 1,
    updatedReplicas: 3,
    readyReplicas: 0,
    availableReplicas: 0,
    unavailableReplicas: 3,
    replicas: 3,
    conditions: [
      { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', lastUpdateTime: long },
      {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        lastUpdateTime: long,
        lastTransitionTime: long,
      },
    ],
  };
  const caches = { getDeployment: () => d, replicaSetsIn: () => [stuck, old] };
  await syncDeployment('default/web', caches, act);
  const p = statuses.at(-1)?.status.conditions.find((c: { type: string }) => c.type === 'Progressing');
  assert.equal(p.status, 'False');
  assert.equal(p.reason, 'ProgressDeadlineExceeded');
  // Within the deadline: still progressing, and a check is planned for when it passes.
  statuses.length = 0;
  const recent = new Date(Date.now() - 10_000).toISOString();
  d.status.conditions[1].lastUpdateTime = recent;
  d.status.conditions[1].reason = 'ReplicaSetUpdated';
  await syncDeployment('default/web', caches, act);
  assert.equal(statuses.length, 0, 'nothing changed, nothing written');
  assert.ok(requeues.at(-1)! > 40_000 && requeues.at(-1)! <= 50_100, `requeue in ${requeues.at(-1)} ms`);
});

test('a paused Deployment creates no ReplicaSet and says it is paused', async () => {
  const statuses: KubeObject[] = [];
  const r = recorder();
  const act = { ...r.act, updateStatus: async (d: KubeObject) => statuses.push(d) };
  const d = deployment('nginx:2', { paused: true });
  await syncDeployment(
    'default/web',
    { getDeployment: () => d, replicaSetsIn: () => [rs('nginx:1', 3, 3, 1)] },
    act,
  );
  assert.deepEqual(r.actions, []);
  const p = statuses.at(-1)?.status.conditions.find((c: { type: string }) => c.type === 'Progressing');
  assert.equal(p.reason, 'DeploymentPaused');
});

test('a stale old ReplicaSet status (still counting a pod being removed) never lets availability dip', async () => {
  const r = recorder();
  const d = deployment('nginx:2', {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
  });
  d.metadata.annotations = { 'deployment.kubernetes.io/revision': '2' };
  const old = rs('nginx:1', 2, 2, 1);
  old.status.availableReplicas = 3; // its status still counts the pod just scaled away
  const next = rs('nginx:2', 2, 2, 2);
  await syncDeployment('default/web', { getDeployment: () => d, replicaSetsIn: () => [old, next] }, r.act);
  assert.ok(r.actions.includes(`scale ${old.metadata.name} 1`), r.actions.join('; '));
  assert.ok(!r.actions.includes(`scale ${old.metadata.name} 0`), r.actions.join('; '));
});

test('the change-cause annotation reaches the new ReplicaSet, at creation and when it changes', async () => {
  const made: KubeObject[] = [];
  const updated: KubeObject[] = [];
  const act = {
    ...recorder().act,
    createReplicaSet: async (_ns: string, r: KubeObject) => void made.push(r),
    updateReplicaSet: async (r: KubeObject) => void updated.push(r),
  };
  const d = deployment('nginx:2');
  d.metadata.annotations = {
    ...d.metadata.annotations,
    'kubernetes.io/change-cause': 'kubectl set image deploy/web c=nginx:2',
    'kubectl.kubernetes.io/last-applied-configuration': '{}',
  };
  await syncDeployment('default/web', { getDeployment: () => d, replicaSetsIn: () => [] }, act);
  const annotations = made[0]?.metadata.annotations ?? {};
  assert.equal(annotations['kubernetes.io/change-cause'], 'kubectl set image deploy/web c=nginx:2');
  assert.equal(annotations['kubectl.kubernetes.io/last-applied-configuration'], undefined);
  assert.equal(annotations['deployment.kubernetes.io/revision'], '1');

  // The Deployment's annotation is edited later (kubectl annotate): the running ReplicaSet follows.
  const current = rs('nginx:2', 3, 3, 1);
  d.metadata.annotations['kubernetes.io/change-cause'] = 'rolled out for ticket 42';
  await syncDeployment('default/web', { getDeployment: () => d, replicaSetsIn: () => [current] }, act);
  assert.equal(updated[0]?.metadata.annotations?.['kubernetes.io/change-cause'], 'rolled out for ticket 42');
  assert.equal(updated[0]?.spec.replicas, 3);
});

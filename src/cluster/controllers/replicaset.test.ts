import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { Expectations, syncReplicaSet } from './replicaset.js';

const rs = (replicas: number): KubeObject => ({
  metadata: { name: 'web', namespace: 'default', uid: 'rs-uid', generation: 2 },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
});
const pod = (name: string, ready: boolean, nodeName = 'n1'): KubeObject => ({
  metadata: {
    name,
    namespace: 'default',
    labels: { app: 'web' },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-uid', controller: true },
    ],
  },
  spec: { nodeName },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

function recorder() {
  const actions: string[] = [] as string[];
  return {
    actions,
    act: {
      createPod: async (ns: string, p: KubeObject) => actions.push(`create ${ns}/${p.metadata.generateName}`),
      deletePod: async (ns: string, name: string) => actions.push(`delete ${ns}/${name}`),
      updateStatus: async (o: KubeObject) =>
        actions.push(`status replicas=${o.status.replicas} ready=${o.status.readyReplicas}`),
    },
  };
}

test('creates the missing pods from the template, then waits for them to be seen', async () => {
  const r = recorder();
  const exp = new Expectations();
  const caches = { getReplicaSet: () => rs(3), podsIn: () => [pod('web-a', true)] };
  await syncReplicaSet('default/web', caches, r.act, exp);
  assert.deepEqual(r.actions, ['create default/web-', 'create default/web-', 'status replicas=1 ready=1']);
  r.actions.length = 0;
  await syncReplicaSet('default/web', caches, r.act, exp);
  assert.deepEqual(
    r.actions,
    ['status replicas=1 ready=1'],
    'no second round of creates before the cache catches up',
  );
});

test('deletes surplus pods, unscheduled and not-ready ones first', async () => {
  const r = recorder();
  const caches = {
    getReplicaSet: () => rs(1),
    podsIn: () => [pod('ready', true), pod('notready', false), pod('unscheduled', false, '')],
  };
  await syncReplicaSet('default/web', caches, r.act, new Expectations());
  assert.deepEqual(r.actions.slice(0, 2), ['delete default/unscheduled', 'delete default/notready']);
});

test('a missing ReplicaSet is done; pods owned by others are ignored', async () => {
  const r = recorder();
  await syncReplicaSet(
    'default/web',
    { getReplicaSet: () => undefined, podsIn: () => [] },
    r.act,
    new Expectations(),
  );
  assert.deepEqual(r.actions, []);
  const stranger = { ...pod('x', true), metadata: { ...pod('x', true).metadata, ownerReferences: [] } };
  await syncReplicaSet(
    'default/web',
    { getReplicaSet: () => rs(0), podsIn: () => [stranger] },
    r.act,
    new Expectations(),
  );
  assert.ok(
    !(r.actions as string[]).some((a) => a.startsWith('create') || a.startsWith('delete')),
    r.actions.join(),
  );
});

test('minReadySeconds: a pod ready for less is not yet available, and the set is checked again then', async () => {
  const rsObj: KubeObject = {
    metadata: { name: 'r', namespace: 'default', uid: 'rs-uid' },
    spec: { replicas: 2, minReadySeconds: 30, selector: { matchLabels: { app: 'a' } }, template: {} },
  };
  const pod = (name: string, readyAgoMs: number): KubeObject => ({
    metadata: {
      name,
      namespace: 'default',
      labels: { app: 'a' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'rs-uid', controller: true },
      ],
    },
    status: {
      phase: 'Running',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          lastTransitionTime: new Date(Date.now() - readyAgoMs).toISOString(),
        },
      ],
    },
  });
  const written: KubeObject[] = [];
  const requeues: number[] = [];
  await syncReplicaSet(
    'default/r',
    { getReplicaSet: () => rsObj, podsIn: () => [pod('old', 60_000), pod('new', 5_000)] },
    {
      createPod: async () => undefined,
      deletePod: async () => undefined,
      updateStatus: async (o) => written.push(o),
      requeueAfter: (_k, ms) => requeues.push(ms),
    },
    new Expectations(),
  );
  assert.equal(written[0]?.status.readyReplicas, 2);
  assert.equal(written[0]?.status.availableReplicas, 1);
  assert.ok(requeues[0]! > 20_000 && requeues[0]! <= 25_100, `requeue in ${requeues[0]} ms`);
});

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
  const other = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: 'other',
    uid: 'other-uid',
    controller: true,
  };
  const stranger = { ...pod('x', true), metadata: { ...pod('x', true).metadata, ownerReferences: [other] } };
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

test('claiming: a matching orphan is adopted and counted; an owned pod that stopped matching is released', async () => {
  const r = recorder();
  const owners: string[] = [];
  const orphan = {
    ...pod('orphan', true),
    metadata: { ...pod('orphan', true).metadata, ownerReferences: [] },
  };
  const relabelled = {
    ...pod('relabelled', true),
    metadata: { ...pod('relabelled', true).metadata, labels: {} },
  };
  const unrelated = { ...orphan, metadata: { ...orphan.metadata, name: 'unrelated', labels: { app: 'db' } } };
  await syncReplicaSet(
    'default/web',
    {
      getReplicaSet: () => rs(2),
      podsIn: () => [pod('mine', true), relabelled],
      orphansIn: () => [orphan, unrelated],
    },
    {
      ...r.act,
      setPodOwners: async (p, refs) =>
        owners.push(
          `${p.metadata.name}: ${(refs as { uid: string }[]).map((x) => x.uid).join(',') || 'none'}`,
        ),
      canAdopt: async () => true,
    },
    new Expectations(),
  );
  assert.deepEqual(owners.sort(), ['orphan: rs-uid', 'relabelled: none']);
  assert.deepEqual(r.actions, ['status replicas=2 ready=2'], 'the adopted pod counts: nothing to create');
});

test('no adoption when the live ReplicaSet is gone or being deleted', async () => {
  const r = recorder();
  const owners: string[] = [];
  const orphan = {
    ...pod('orphan', true),
    metadata: { ...pod('orphan', true).metadata, ownerReferences: [] },
  };
  await syncReplicaSet(
    'default/web',
    { getReplicaSet: () => rs(1), podsIn: () => [], orphansIn: () => [orphan] },
    { ...r.act, setPodOwners: async (p) => owners.push(p.metadata.name!), canAdopt: async () => false },
    new Expectations(),
  );
  assert.deepEqual(owners, []);
  assert.deepEqual(r.actions, ['create default/web-', 'status replicas=0 ready=0']);
});

test('slow start: a template the API refuses costs one create, a FailedCreate event and a thrown error', async () => {
  let calls = 0;
  const events: string[] = [];
  const exp = new Expectations();
  await assert.rejects(
    syncReplicaSet(
      'default/web',
      { getReplicaSet: () => rs(100), podsIn: () => [] },
      {
        createPod: async () => {
          calls++;
          throw new Error('pods "web-" is forbidden: exceeded quota');
        },
        deletePod: async () => undefined,
        updateStatus: async () => undefined,
        event: (_o, type, reason, message) => events.push(`${type} ${reason} ${message}`),
      },
      exp,
    ),
    /exceeded quota/,
  );
  assert.equal(calls, 1, 'the first batch is one pod; nothing after a failed batch');
  assert.deepEqual(events, ['Warning FailedCreate Error creating: pods "web-" is forbidden: exceeded quota']);
  assert.ok(exp.satisfied('default/web'), 'creates never made are not waited for');
});

test('slow start: 100 pods go out in batches of 1, 2, 4... up to the total', async () => {
  let inFlight = 0;
  const batches: number[] = [];
  await syncReplicaSet(
    'default/web',
    { getReplicaSet: () => rs(100), podsIn: () => [] },
    {
      createPod: async (_ns, p) => {
        if (inFlight++ === 0) batches.push(0);
        batches[batches.length - 1]!++;
        await Promise.resolve();
        inFlight--;
        return p;
      },
      deletePod: async () => undefined,
      updateStatus: async () => undefined,
    },
    new Expectations(),
  );
  assert.deepEqual(batches, [1, 2, 4, 8, 16, 32, 37]);
});

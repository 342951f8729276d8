import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { type GcActions, type GcCaches, syncGarbage } from './gc.js';

const obj = (name: string, uid: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  metadata: { name, namespace: 'default', uid, resourceVersion: '1', ...extra },
});
const owned = (name: string, uid: string, ...owners: string[]) =>
  obj(name, uid, {
    ownerReferences: owners.map((o) => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: o,
      uid: o,
      controller: true,
    })),
  });

function world(objects: Record<string, { kind: string; o: KubeObject }>, live: Record<string, string> = {}) {
  const actions: string[] = [];
  const caches: GcCaches = {
    get: (kind, key) =>
      Object.values(objects).find((x) => x.kind === kind && `default/${x.o.metadata.name}` === key)?.o,
    dependents: (uid) =>
      Object.values(objects)
        .filter((x) => x.o.metadata.ownerReferences?.some((r) => r.uid === uid))
        .map((x) => ({ kind: x.kind, key: `default/${x.o.metadata.name}` })),
    hasUid: (uid) => Object.values(objects).some((x) => x.o.metadata.uid === uid),
  };
  const act: GcActions = {
    ownerUid: async (ref) => live[ref.name],
    delete: async (kind, o) => actions.push(`delete ${kind} ${o.metadata.name}`),
    setOwners: async (kind, o, owners) =>
      actions.push(`owners ${kind} ${o.metadata.name} [${owners.map((x) => x.name).join(',')}]`),
    setFinalizers: async (kind, o, f) =>
      actions.push(`finalizers ${kind} ${o.metadata.name} [${f.join(',')}]`),
    requeue: () => actions.push('requeue'),
  };
  return { caches, act, actions };
}

test('a dependent whose owners are all gone is deleted; one with a live owner keeps it', async () => {
  const w = world({ p: { kind: 'Pod', o: owned('p', 'p1', 'rs-gone') } });
  await syncGarbage('Pod', 'default/p', w.caches, w.act);
  assert.deepEqual(w.actions, ['delete Pod p']);
  // Missing from the caches but alive when read: kept (the caches fill at different times).
  const w2 = world({ p: { kind: 'Pod', o: owned('p', 'p1', 'rs-late') } }, { 'rs-late': 'rs-late' });
  await syncGarbage('Pod', 'default/p', w2.caches, w2.act);
  assert.deepEqual(w2.actions, []);
  // Two owners, one gone: only the dangling reference goes.
  const w3 = world({
    p: { kind: 'Pod', o: owned('p', 'p1', 'a', 'b') },
    a: { kind: 'ReplicaSet', o: obj('a', 'a') },
  });
  await syncGarbage('Pod', 'default/p', w3.caches, w3.act);
  assert.deepEqual(w3.actions, ['owners Pod p [a]']);
});

test('foreground: dependents first, then the finalizer; orphan: dependents freed, then the finalizer', async () => {
  const deleting = { deletionTimestamp: '2026-01-01T00:00:00Z' };
  const w = world({
    rs: { kind: 'ReplicaSet', o: obj('rs', 'rs', { ...deleting, finalizers: ['foregroundDeletion'] }) },
    p: { kind: 'Pod', o: owned('p', 'p1', 'rs') },
  });
  await syncGarbage('ReplicaSet', 'default/rs', w.caches, w.act);
  assert.deepEqual(w.actions, ['delete Pod p', 'requeue']);
  const done = world({
    rs: { kind: 'ReplicaSet', o: obj('rs', 'rs', { ...deleting, finalizers: ['foregroundDeletion'] }) },
  });
  await syncGarbage('ReplicaSet', 'default/rs', done.caches, done.act);
  assert.deepEqual(done.actions, ['finalizers ReplicaSet rs []']);
  const o = world({
    rs: { kind: 'ReplicaSet', o: obj('rs', 'rs', { ...deleting, finalizers: ['orphan'] }) },
    p: { kind: 'Pod', o: owned('p', 'p1', 'rs') },
  });
  await syncGarbage('ReplicaSet', 'default/rs', o.caches, o.act);
  assert.deepEqual(o.actions, ['owners Pod p []']);
});

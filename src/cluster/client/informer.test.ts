import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setLogSink } from '../../core/log.js';
import { Informer } from './informer.js';
import type { KubeClient, KubeObject, WatchEvent } from './kube-client.js';
import { Resources } from './kube-client.js';

const pod = (name: string, ns: string, owner?: string, rv = '1'): KubeObject => ({
  metadata: {
    name,
    namespace: ns,
    resourceVersion: rv,
    ...(owner
      ? { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: owner, controller: true }] }
      : {}),
  },
});

test('indexes follow adds, updates (owner changes) and deletes', async () => {
  let emit: (e: WatchEvent) => void = () => {};
  const client = {
    list: async () => ({
      items: [pod('a', 'n1', 'u1'), pod('b', 'n2', 'u1')],
      metadata: { resourceVersion: '1' },
    }),
    watch: (_r: unknown, _rv: string, onEvent: (e: WatchEvent) => void) => {
      emit = onEvent;
      return () => {};
    },
  } as unknown as KubeClient;
  const inf = new Informer(client, Resources.pods);
  const byOwner = (uid: string) =>
    inf
      .byIndex('owner', uid)
      .map((o) => o.metadata.name)
      .sort();
  inf.addIndex('owner', (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid));
  inf.start();
  await inf.hasSynced();
  assert.deepEqual(byOwner('u1'), ['a', 'b']);
  emit({ type: 'MODIFIED', object: pod('b', 'n2', 'u2', '2') });
  emit({ type: 'ADDED', object: pod('c', 'n1', 'u2', '3') });
  assert.deepEqual(byOwner('u1'), ['a']);
  assert.deepEqual(byOwner('u2'), ['b', 'c']);
  emit({ type: 'DELETED', object: pod('b', 'n2', 'u2', '4') });
  assert.deepEqual(byOwner('u2'), ['c']);
  // An index added late is filled from the cache.
  inf.addIndex('ns', (o) => [o.metadata.namespace ?? '']);
  assert.deepEqual(
    inf
      .byIndex('ns', 'n1')
      .map((o) => o.metadata.name)
      .sort(),
    ['a', 'c'],
  );
  inf.stop();
});

test('a handler that throws is logged; the other handlers and later events still run', async () => {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  try {
    let emit!: (ev: WatchEvent) => void;
    const client = {
      list: async () => ({ items: [], metadata: { resourceVersion: '1' } }),
      watch: (_r: unknown, _rv: string, onEvent: (ev: WatchEvent) => void) => {
        emit = onEvent;
        return () => {};
      },
    } as unknown as KubeClient;
    const seen: string[] = [];
    const inf = new Informer(client, Resources.pods)
      .onAdd(() => {
        throw new Error('handler bug');
      })
      .onAdd((o) => seen.push(o.metadata.name!));
    inf.start();
    await inf.hasSynced();
    const obj = (name: string, rv: string) => ({ metadata: { name, namespace: 'd', resourceVersion: rv } });
    emit({ type: 'ADDED', object: obj('a', '2') });
    emit({ type: 'ADDED', object: obj('b', '3') });
    inf.stop();
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(lines.filter((l) => /event handler failed/.test(l) && /d\/a/.test(l)).length, 1);
  } finally {
    setLogSink(prev);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryStore } from '../../store/memory.js';
import type { Store } from '../../store/store.js';
import { NamespaceLister } from './namespace-lister.js';
import { resourceQuotaAdmission } from './resource-quota.js';
import { pod, request } from './test-request.js';

const prefix = '/registry/core/limitranges/';
const names = async (l: NamespaceLister, ns: string) =>
  (await l.list(ns)).map((x) => x.object.metadata?.name);
const put = (store: Store, ns: string, name: string) =>
  store.create(`${prefix}${ns}/${name}`, JSON.stringify({ metadata: { name, namespace: ns } }));

/** Resolves once a watch registered now sees the next event under `prefix`. */
const nextEvent = (store: Store) =>
  new Promise<void>((resolve, reject) => {
    void store.revision().then((rev) => {
      const w = store.watch(prefix, rev, {
        onEvents: () => {
          w.close();
          resolve();
        },
        onError: reject,
      });
    });
  });

test('a namespace is read once, then served from memory until a write says otherwise', async () => {
  const store = memoryStore();
  await put(store, 'a', 'one');
  const lister = new NamespaceLister(store, prefix);
  assert.deepEqual(await names(lister, 'a'), ['one']);
  assert.deepEqual(await names(lister, 'b'), []);
  // A write through this API server drops the entry at once (the written hook).
  await put(store, 'b', 'two');
  lister.invalidate();
  assert.deepEqual(await names(lister, 'b'), ['two']);
  // One by another writer is seen through the store's watch (registered before ours, so
  // delivered before ours).
  const seen = nextEvent(store);
  await put(store, 'a', 'three');
  await seen;
  assert.deepEqual(await names(lister, 'a'), ['one', 'three']);
  lister.close();
});

test('a quota created after a namespace was read as having none refuses the next pod', async () => {
  const store = memoryStore();
  const plugin = resourceQuotaAdmission(store);
  const quotas = { kind: 'ResourceQuota', group: '' } as Parameters<NonNullable<typeof plugin.written>>[0];
  await plugin.validate?.(request('pods', pod('first', [{ name: 'c' }])));
  await store.create(
    '/registry/core/resourcequotas/ns/q',
    JSON.stringify({ metadata: { name: 'q', namespace: 'ns' }, spec: { hard: { pods: '0' } } }),
  );
  plugin.written?.(quotas);
  await assert.rejects(
    plugin.validate?.(request('pods', pod('second', [{ name: 'c' }]))) as Promise<void>,
    /exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0/,
  );
});

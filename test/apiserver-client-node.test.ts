// @kubernetes/client-node against a real `berth server --disable-agent`: list, watch through an
// informer, create and patch, plus watch resume and 410 from raw HTTPS.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as K8s from '@kubernetes/client-node';
import { startCluster, type TestCluster, until } from './helpers/cluster.js';

// client-node 1.x: 2.x pulls in undici 8, which needs Node >= 22.19, and Berth targets Node 20.
const k8s = await import('@kubernetes/client-node');

describe('client-node against berth server', () => {
  let c: TestCluster;
  let kc: K8s.KubeConfig;
  let core: K8s.CoreV1Api;
  before(async () => {
    c = await startCluster(undefined);
    kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  after(() => c?.box.cleanup());

  test('create, list and patch a ConfigMap', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'cn1', labels: { app: 'x' } }, data: { a: '1' } },
    });
    assert.ok(created.metadata?.uid);
    const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=x' });
    assert.deepEqual(
      list.items.map((i) => i.metadata?.name),
      ['cn1'],
    );
    assert.ok(Number(list.metadata?.resourceVersion) > 0);
    const patched = await core.patchNamespacedConfigMap(
      { name: 'cn1', namespace: 'default', body: { data: { b: '2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.deepEqual(patched.data, { a: '1', b: '2' });
    await assert.rejects(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cn1' } } }),
      (e: { code?: number }) => e.code === 409,
    );
  });

  test('an informer lists, then sees adds, updates and deletes', async () => {
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'default' }),
    );
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update:${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'inf1' } } });
      await core.replaceNamespacedConfigMap({
        name: 'inf1',
        namespace: 'default',
        body: { metadata: { name: 'inf1' }, data: { x: 'y' } },
      });
      await core.deleteNamespacedConfigMap({ name: 'inf1', namespace: 'default' });
      await until(
        () => `the informer sees inf1 deleted: ${seen.join(' ')}`,
        async () => seen.includes('delete:inf1'),
      );
      assert.ok(seen.includes('add:cn1'), seen.join(' '));
      assert.deepEqual(
        seen.filter((s) => s.endsWith(':inf1')),
        ['add:inf1', 'update:inf1', 'delete:inf1'],
      );
    } finally {
      await informer.stop();
    }
  });

  test('a stale update is 409; a watch from a resourceVersion sends only later events', async () => {
    const cur = await core.readNamespacedConfigMap({ name: 'cn1', namespace: 'default' });
    const rv = cur.metadata?.resourceVersion as string;
    await core.replaceNamespacedConfigMap({
      name: 'cn1',
      namespace: 'default',
      body: { ...cur, data: { v: '1' } },
    });
    await assert.rejects(
      core.replaceNamespacedConfigMap({
        name: 'cn1',
        namespace: 'default',
        body: { ...cur, data: { v: '2' } },
      }),
      (e: { code?: number; body?: string }) =>
        e.code === 409 && /the object has been modified/.test(String(e.body)),
    );
    const events: string[] = [];
    const w = new k8s.Watch(kc);
    const req = await w.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: rv, fieldSelector: 'metadata.name=cn1' },
      (type, obj: K8s.V1ConfigMap) => events.push(`${type}:${obj.metadata?.name}:${obj.data?.v ?? ''}`),
      () => {},
    );
    try {
      await until('the watch sends an event', async () => events.length > 0);
    } finally {
      req.abort();
    }
    assert.deepEqual(events, ['MODIFIED:cn1:1']);
  });
});

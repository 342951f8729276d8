import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { syncNamespaceDefaults } from './namespace-defaults.js';

test('a new namespace gets its default ServiceAccount and root CA; a wrong CA is corrected', async () => {
  const done: string[] = [];
  const act = {
    create: async (kind: string, ns: string, o: KubeObject) =>
      done.push(`create ${kind} ${ns}/${o.metadata.name}`),
    updateConfigMap: async (o: KubeObject) =>
      done.push(`update ${o.metadata.name} ${(o.data as { 'ca.crt': string })['ca.crt']}`),
  };
  const ns = { metadata: { name: 'team' }, status: { phase: 'Active' } };
  await syncNamespaceDefaults(
    'team',
    'CA',
    { namespace: () => ns, serviceAccount: () => undefined, configMap: () => undefined },
    act,
  );
  assert.deepEqual(done, ['create ServiceAccount team/default', 'create ConfigMap team/kube-root-ca.crt']);
  done.length = 0;
  const stale = { metadata: { name: 'kube-root-ca.crt', namespace: 'team' }, data: { 'ca.crt': 'OLD' } };
  await syncNamespaceDefaults(
    'team',
    'CA',
    { namespace: () => ns, serviceAccount: () => ns, configMap: () => stale },
    act,
  );
  assert.deepEqual(done, ['update kube-root-ca.crt CA']);
  done.length = 0;
  const leaving = { metadata: { name: 'team', deletionTimestamp: 'x' } };
  await syncNamespaceDefaults(
    'team',
    'CA',
    { namespace: () => leaving, serviceAccount: () => undefined, configMap: () => undefined },
    act,
  );
  assert.deepEqual(done, []);
});

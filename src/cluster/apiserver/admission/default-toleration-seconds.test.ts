import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../api/selectors.js';
import { defaultTolerationSecondsAdmission } from './default-toleration-seconds.js';
import { request } from './test-request.js';

const pod = (tolerations?: unknown[]) => ({
  metadata: { name: 'p', namespace: 'ns' },
  spec: { containers: [{ name: 'c', image: 'i' }], ...(tolerations ? { tolerations } : {}) },
});
const tolerationsOf = (o: KubeObject) => (o.spec as { tolerations: unknown[] }).tolerations;

test('a pod gets a toleration of each failed-node taint for the configured seconds', async () => {
  const req = request('pods', pod());
  await defaultTolerationSecondsAdmission(7).admit?.(req);
  assert.deepEqual(tolerationsOf(req.object), [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7 },
  ]);
});

test('a toleration the pod has of a taint, or of every taint, is kept and not added again', async () => {
  const own = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 600 };
  const req = request('pods', pod([own]));
  await defaultTolerationSecondsAdmission().admit?.(req);
  assert.deepEqual(tolerationsOf(req.object), [
    own,
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
  ]);
  const all = request('pods', pod([{ operator: 'Exists' }]));
  await defaultTolerationSecondsAdmission().admit?.(all);
  assert.deepEqual(tolerationsOf(all.object), [{ operator: 'Exists' }]);
});

test('a status write and other kinds are left alone', async () => {
  const status = request('pods', pod(), { operation: 'UPDATE', old: pod(), subresource: 'status' });
  await defaultTolerationSecondsAdmission().admit?.(status);
  assert.equal((status.object.spec as { tolerations?: unknown }).tolerations, undefined);
  const cm = request('configmaps', { metadata: { name: 'c', namespace: 'ns' } });
  await defaultTolerationSecondsAdmission().admit?.(cm);
  assert.equal(cm.object.spec, undefined);
});

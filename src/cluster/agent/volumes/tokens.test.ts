import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../client/kube-client.js';
import { ServiceAccountTokens } from './tokens.js';

test('tokens are bound to the pod, cached, and renewed after 80% of their life', async () => {
  let now = 0;
  const asked: KubeObject[] = [];
  const tokens = new ServiceAccountTokens(
    async (ns, name, body) => {
      asked.push({ ...body, metadata: { name, namespace: ns } });
      return { token: `t${asked.length}`, expirationTimestamp: new Date(now + 1000_000).toISOString() };
    },
    () => now,
  );
  const pod = { metadata: { name: 'web', namespace: 'ns', uid: 'u1' }, spec: { serviceAccountName: 'sa' } };
  assert.equal(await tokens.get(pod, undefined, 1000), 't1');
  assert.deepEqual(asked[0]!.spec, {
    expirationSeconds: 1000,
    boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'u1' },
  });
  assert.equal(asked[0]!.metadata.name, 'sa');
  now = 799_000;
  assert.equal(await tokens.get(pod, undefined, 1000), 't1', 'still young');
  now = 801_000;
  assert.equal(await tokens.get(pod, undefined, 1000), 't2', 'renewed past 80%');
  assert.equal(await tokens.get(pod, 'vault', 1000), 't3', 'another audience is another token');
  tokens.forget('u1');
  assert.equal(await tokens.get(pod, undefined, 1000), 't4');
});
